//! The console's words in English and Simplified Chinese, and how a page's
//! language is chosen: the user's stored preference (the switch in the page
//! header), else the browser's `Accept-Language`, else English.
//!
//! Templates call `t("key")`; a key missing from a language falls back to
//! English, and a key missing from both shows the key itself (so a missing
//! entry is visible, never an error). Add a page's words to both tables in
//! [`CATALOG`]; the incident board and page keep theirs in
//! [`super::board::words`], the calibration page in
//! [`super::calibrate::words`], looked up after it.

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    ZhCn,
}

/// Every language, in the order the header switch offers them.
pub const LANGS: [Lang; 2] = [Lang::En, Lang::ZhCn];

impl Lang {
    /// The BCP 47 tag: `en`, `zh-CN`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// The language's own name, for the switch.
    pub fn native(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::ZhCn => "中文",
        }
    }

    /// `en` / `zh-CN` (also `zh`, `zh-Hans`, any case); `None` for others.
    pub fn parse(tag: &str) -> Option<Lang> {
        let t = tag.trim().to_ascii_lowercase();
        if t == "en" || t.starts_with("en-") {
            Some(Lang::En)
        } else if t == "zh"
            || t == "zh-cn"
            || t == "zh-hans"
            || t.starts_with("zh-hans-")
            || t == "zh-sg"
        {
            Some(Lang::ZhCn)
        } else {
            None
        }
    }

    /// The best language for an `Accept-Language` header (by q-value,
    /// then order); English when none is spoken.
    pub fn negotiate(accept: Option<&str>) -> Lang {
        let Some(accept) = accept else {
            return Lang::En;
        };
        let mut best: Option<(f32, Lang)> = None;
        for part in accept.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or_default();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(l) = Lang::parse(tag) {
                if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, l));
                }
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    /// The text of `key` in this language (see the module doc for fallbacks).
    pub fn text(self, key: &str) -> String {
        let pick = |(k, en, zh): &(&str, &str, &str)| {
            (*k == key).then(|| match self {
                Lang::En => en.to_string(),
                Lang::ZhCn => zh.to_string(),
            })
        };
        CATALOG
            .iter()
            .chain(super::board::words::WORDS)
            .chain(super::calibrate::words::WORDS)
            .find_map(pick)
            .unwrap_or_else(|| key.to_string())
    }
}

/// `(key, English, 简体中文)`.
pub const CATALOG: &[(&str, &str, &str)] = &[
    ("app.title", "estatewatch console", "estatewatch 控制台"),
    ("nav.board", "Incidents", "事件"),
    ("nav.cameras", "Cameras", "摄像头"),
    ("nav.logout", "Log out", "退出登录"),
    ("nav.language", "Language", "语言"),
    ("login.title", "Log in", "登录"),
    ("login.user", "User name", "用户名"),
    ("login.password", "Password", "密码"),
    ("login.submit", "Log in", "登录"),
    (
        "login.failed",
        "Wrong user name or password.",
        "用户名或密码错误。",
    ),
    ("login.expired", "Please log in.", "请登录。"),
    (
        "login.limited",
        "Too many failed logins. Try again in {minutes} minutes.",
        "登录失败次数过多，请 {minutes} 分钟后再试。",
    ),
    ("login.limited.title", "Too many attempts", "尝试次数过多"),
    (
        "error.forbidden",
        "Your role may not do this.",
        "您的角色无权执行此操作。",
    ),
    (
        "error.csrf",
        "This form has expired or came from another site. Reload the page and try again.",
        "表单已过期或来自其他网站，请刷新页面后重试。",
    ),
    ("error.not_found", "Not found.", "未找到。"),
    ("role.viewer", "viewer", "查看员"),
    ("role.operator", "operator", "值班员"),
    ("role.admin", "admin", "管理员"),
    ("cameras.title", "Cameras", "摄像头"),
    ("cameras.camera", "Camera", "摄像头"),
    ("cameras.state", "State", "状态"),
    ("cameras.online", "online", "在线"),
    ("cameras.offline", "offline", "离线"),
    ("cameras.fps_in", "Detect fps", "检测帧率"),
    ("cameras.fps_analysed", "Analysed fps", "分析帧率"),
    ("cameras.skipped", "Skipped frames", "跳过帧数"),
    ("cameras.reconnects", "Reconnects", "重连次数"),
    ("cameras.selftest", "Self-test", "自检"),
    ("cameras.selftest.none", "not run yet", "尚未运行"),
    ("cameras.selftest.passed", "passed", "通过"),
    ("cameras.selftest.failed", "failed", "失败"),
    ("cameras.outage", "Last outage", "最近一次中断"),
    ("cameras.outage.none", "none since start", "启动以来无"),
    ("cameras.thumbnail", "Latest picture", "最新画面"),
    ("cameras.zones", "Zones", "区域"),
    ("cameras.id", "id", "编号"),
    (
        "cameras.thumbnail.none",
        "no stored picture yet",
        "暂无存储画面",
    ),
    ("cameras.none", "No camera is configured.", "未配置摄像头。"),
    ("time.zone", "Times in", "时区"),
    ("nav.notifications", "Notifications", "通知"),
    ("notify.title", "Notifications", "通知"),
    (
        "notify.intro",
        "Where alerts go: the MQTT broker, each notifier and each platform profile. Reload the page for fresh figures.",
        "告警的去向：MQTT 服务器、每个通知渠道和每个平台映射。刷新页面可查看最新数据。",
    ),
    ("notify.sink", "Sink", "渠道"),
    ("notify.kind", "Kind", "类型"),
    ("notify.state", "State", "状态"),
    ("notify.backlog", "Backlog", "待发送"),
    ("notify.failures", "Failures", "失败次数"),
    ("notify.last_success", "Last success", "最近成功"),
    ("notify.last_error", "Last error", "最近错误"),
    ("notify.dropped", "Dropped", "已丢弃"),
    ("notify.never", "not yet", "尚无"),
    ("notify.via_mqtt", "via MQTT", "经 MQTT 发送"),
    ("notify.state.ok", "working", "正常"),
    ("notify.state.failing", "failing", "失败"),
    ("notify.state.off", "disabled", "已停用"),
    ("notify.kind.mqtt", "MQTT broker", "MQTT 服务器"),
    ("notify.kind.webhook", "Webhook", "Webhook"),
    ("notify.kind.wecom", "WeCom bot", "企业微信机器人"),
    ("notify.kind.dingtalk", "DingTalk bot", "钉钉机器人"),
    ("notify.kind.feishu", "Feishu bot", "飞书机器人"),
    ("notify.kind.profile", "Platform profile", "平台映射"),
    (
        "notify.reload_hint",
        "Backlog: messages waiting for this sink. Failures: attempts that failed since the daemon started (each is retried). A platform profile's messages go out over MQTT. Reloading the config applies changes to [[notifiers]] and [[profiles]]; a new notifier starts with the next message.",
        "待发送：等待该渠道发送的消息数。失败次数：守护进程启动以来失败的尝试（每次都会重试）。平台映射的消息经 MQTT 发送。重新加载配置即可应用 [[notifiers]] 和 [[profiles]] 的修改；新增的通知渠道从下一条消息开始发送。",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_spoken_language() {
        assert_eq!(Lang::negotiate(None), Lang::En);
        assert_eq!(Lang::negotiate(Some("zh-CN,zh;q=0.9,en;q=0.8")), Lang::ZhCn);
        assert_eq!(Lang::negotiate(Some("fr, en;q=0.5, zh;q=0.7")), Lang::ZhCn);
        assert_eq!(Lang::negotiate(Some("de-DE")), Lang::En);
        assert_eq!(Lang::negotiate(Some("zh-TW")), Lang::En);
    }

    #[test]
    fn every_key_has_both_languages_and_missing_keys_show() {
        for (k, en, zh) in CATALOG {
            assert!(!en.is_empty() && !zh.is_empty(), "{k}");
            assert_eq!(
                CATALOG.iter().filter(|(o, _, _)| o == k).count(),
                1,
                "{k} twice"
            );
        }
        assert_eq!(Lang::ZhCn.text("nav.cameras"), "摄像头");
        assert_eq!(Lang::En.text("no.such.key"), "no.such.key");
    }
}
