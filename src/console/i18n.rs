//! The console's words in English and Simplified Chinese, and how a page's
//! language is chosen: the user's stored preference (the switch in the page
//! header), else the browser's `Accept-Language`, else English.
//!
//! Every word of the console is in one table, [`CATALOG`]: one line
//! `(key, English, 简体中文)` per word, grouped by page under a comment.
//! Add a page's words there, in both languages, under its own heading (keys
//! start with the page's prefix: `board.`, `calib.`, …). Templates call
//! `t("key")` (`{name}` in a text is filled by `t("key", name=value)`);
//! code calls [`Lang::text`]. A key missing from both languages shows the
//! key itself (so a missing entry is visible, never an error).

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
    // The incident board and the incident page (`board/`).
    // The board.
    ("board.title", "Incidents", "事件"),
    ("board.live", "live", "实时"),
    ("board.live.off", "reconnecting…", "正在重连…"),
    ("board.none", "No incident matches.", "没有符合条件的事件。"),
    ("board.total", "{n} incidents", "共 {n} 个事件"),
    ("board.page", "Page {n} of {of}", "第 {n} 页，共 {of} 页"),
    ("board.newer", "Newer", "较新"),
    ("board.older", "Older", "较早"),
    ("board.open_count", "{n} open", "{n} 个未结"),
    (
        "board.unavailable",
        "The incident desk is not running.",
        "事件台未运行。",
    ),
    // Filters.
    ("filter.kind", "Kind", "类型"),
    ("filter.camera", "Camera", "摄像头"),
    ("filter.state", "State", "状态"),
    ("filter.day", "Day", "日期"),
    ("filter.any", "all", "全部"),
    ("filter.apply", "Filter", "筛选"),
    ("filter.clear", "Clear", "清除"),
    // Columns and details.
    ("incident.camera", "Camera", "摄像头"),
    ("incident.zone", "Zone", "区域"),
    ("incident.kind", "Kind", "类型"),
    ("incident.severity", "Severity", "级别"),
    ("incident.state", "State", "状态"),
    ("incident.first_at", "Seen", "发生时间"),
    ("incident.last_at", "Last alert", "最近告警"),
    ("incident.age", "Age", "已过"),
    ("incident.alert_state", "Camera sees it", "画面状态"),
    ("incident.assignee", "Assigned to", "负责人"),
    ("incident.acked_at", "Acknowledged", "确认时间"),
    ("incident.resolved_at", "Resolved", "处理完成时间"),
    ("incident.score", "Confidence", "置信度"),
    ("incident.event", "Event", "事件编号"),
    ("incident.snapshot", "Snapshot", "抓拍"),
    ("incident.no_snapshot", "no stored picture", "无存储图片"),
    ("incident.clip", "Clip", "视频"),
    ("incident.no_clip", "no clip (yet)", "暂无视频"),
    ("incident.play", "Play clip", "播放视频"),
    ("incident.open", "Open", "详情"),
    ("incident.escalated", "Escalated", "已升级"),
    (
        "incident.alert_json",
        "The alert as published",
        "发布的告警原文",
    ),
    (
        "incident.changed",
        "This incident has changed.",
        "此事件已有更新。",
    ),
    ("incident.reload", "Reload", "刷新"),
    ("incident.not_found", "No such incident.", "没有这个事件。"),
    ("incident.back", "All incidents", "全部事件"),
    // Age units (the board's script keeps the age current with them).
    ("age.s", "{n} s", "{n} 秒"),
    ("age.min", "{n} min", "{n} 分钟"),
    ("age.h", "{n} h", "{n} 小时"),
    ("age.d", "{n} d", "{n} 天"),
    // A throw's origin, large.
    ("throw.floor", "Floor {n}", "{n} 层"),
    ("throw.column", "Column {n}", "{n} 列"),
    ("throw.unit", "Unit {n}", "{n} 室"),
    ("throw.unknown", "origin not located", "未能定位楼层"),
    // Kinds.
    ("kind.throwing", "Thrown object", "高空抛物"),
    ("kind.fire", "Fire", "火焰"),
    ("kind.smoke", "Smoke", "烟雾"),
    ("kind.garbage", "Dumped garbage", "乱丢垃圾"),
    ("kind.motion", "Motion", "移动"),
    ("kind.sensor", "Sensor alarm", "传感器告警"),
    ("kind.camera_offline", "Camera offline", "摄像头离线"),
    ("kind.camera_online", "Camera online", "摄像头上线"),
    ("kind.sensor_offline", "Sensor offline", "传感器离线"),
    ("kind.selftest_failed", "Self-test failed", "自检失败"),
    ("kind.test", "Test", "测试"),
    // Severities.
    ("severity.info", "info", "提示"),
    ("severity.warning", "warning", "警告"),
    ("severity.major", "major", "重要"),
    ("severity.critical", "critical", "紧急"),
    // Incident states.
    ("state.open", "open", "待处理"),
    ("state.acknowledged", "acknowledged", "已确认"),
    ("state.resolved_handled", "resolved: handled", "已处理"),
    (
        "state.resolved_false_alarm",
        "resolved: false alarm",
        "误报",
    ),
    // What the camera still sees.
    ("alert_state.new", "new", "新发生"),
    ("alert_state.update", "ongoing", "持续中"),
    ("alert_state.end", "ended", "已结束"),
    // Handling.
    ("handling.title", "Handling", "处理记录"),
    (
        "handling.none",
        "Nobody has handled it yet.",
        "尚无处理记录。",
    ),
    ("handling.at", "Time", "时间"),
    ("handling.who", "Who", "处理人"),
    ("handling.step", "Step", "操作"),
    ("handling.details", "Details", "说明"),
    ("handling.state_after", "State after", "处理后状态"),
    ("via.console", "console", "控制台"),
    ("via.platform", "platform", "平台"),
    ("action.acknowledge", "Acknowledged", "确认"),
    ("action.assign", "Assigned", "指派"),
    ("action.note", "Note", "备注"),
    ("action.resolve", "Resolved", "结案"),
    ("outcome.handled", "handled", "已处理"),
    ("outcome.false_alarm", "false alarm", "误报"),
    // The operator's forms.
    ("act.title", "Handle this incident", "处理此事件"),
    ("act.ack", "On my way", "我去处理"),
    ("act.ack.note", "Note (optional)", "备注（可选）"),
    ("act.assign", "Assign", "指派"),
    ("act.assign.to", "Person", "负责人"),
    ("act.note", "Add note", "添加备注"),
    ("act.note.text", "Note", "备注"),
    ("act.resolve", "Resolve", "结案"),
    ("act.resolve.outcome", "Outcome", "结果"),
    ("act.resolve.reason", "Reason", "原因"),
    (
        "act.viewer",
        "Viewers can follow incidents; an operator handles them.",
        "查看员只能查看事件，由值班员处理。",
    ),
    (
        "act.refused",
        "Not done: this step does not fit the incident's state.",
        "未执行：此操作不适用于事件当前状态。",
    ),
    ("act.invalid", "Not done: {why}", "未执行：{why}"),
    (
        "act.failed",
        "Not done: the desk could not record it; see the daemon log.",
        "未执行：事件台无法记录，请查看守护进程日志。",
    ),
    // The calibration page (`calibrate/`).
    ("calib.title", "Calibrate", "标定"),
    ("calib.link", "Calibrate", "标定"),
    (
        "calib.unavailable",
        "Calibration needs the daemon to run from a config file (estatewatch run --config FILE).",
        "标定需要守护进程从配置文件运行（estatewatch run --config FILE）。",
    ),
    (
        "calib.intro",
        "Coordinates are normalised (0–1 of the frame), as in the config file. Click on the picture to add points; drag a point to move it.",
        "坐标为归一化值（画面的 0–1），与配置文件相同。点击画面添加点，拖动点可移动。",
    ),
    ("calib.file", "Config file", "配置文件"),
    (
        "calib.readonly",
        "The daemon cannot write its config file: saving will fail. The packaged service runs as the user estatewatch, which must own the file and may write in its folder (see docs/console.md, \"Saving the config\").",
        "守护进程无法写入配置文件，保存将失败。软件包自带的服务以用户 estatewatch 运行，该用户须拥有此文件并可在其目录中写入（见 docs/console.md 的 \"Saving the config\"）。",
    ),
    ("calib.layer", "Edit", "编辑"),
    ("calib.layer.motion.zones", "Motion zones", "移动侦测区域"),
    ("calib.layer.fire.zones", "Fire zones", "火情区域"),
    ("calib.layer.fire.masks", "Fire masks (lights)", "火情屏蔽区（灯光）"),
    ("calib.layer.garbage.zones", "Garbage zones", "垃圾区域"),
    ("calib.layer.throwing.exclude", "Throwing: excluded areas", "高空抛物：排除区域"),
    ("calib.layer.facade", "Throwing: facade", "高空抛物：立面"),
    ("calib.layer.floors", "Throwing: floor lines", "高空抛物：楼层线"),
    ("calib.layer.columns", "Throwing: column edges", "高空抛物：户列边线"),
    ("calib.zones", "Zones", "区域"),
    ("calib.zone.name", "Name", "名称"),
    ("calib.zone.display_name", "Display name", "显示名称"),
    ("calib.new", "New zone", "新建区域"),
    ("calib.finish", "Finish", "完成"),
    ("calib.delete_zone", "Delete zone", "删除区域"),
    ("calib.delete_point", "Delete point", "删除点"),
    ("calib.add_line", "Add floor line", "添加楼层线"),
    ("calib.delete_line", "Delete floor line", "删除楼层线"),
    ("calib.add_edge", "Add column edge", "添加户列边线"),
    ("calib.delete_edge", "Delete column edge", "删除户列边线"),
    ("calib.labels", "Column labels (comma-separated)", "户列标签（逗号分隔）"),
    ("calib.save", "Save and reload", "保存并重新加载"),
    ("calib.saving", "Saving…", "正在保存…"),
    ("calib.undo_all", "Discard changes", "放弃修改"),
    (
        "calib.no_picture",
        "No frame from this camera now and no stored picture: drawing on a blank frame.",
        "当前无法获取该摄像头画面，也没有已存图片：在空白画面上绘制。",
    ),
    (
        "calib.whole_frame",
        "No zone: the analyzer looks at the whole frame.",
        "无区域：分析器检测整个画面。",
    ),
    (
        "calib.saved",
        "Saved. The old file is kept as {backup}.",
        "已保存。原文件备份为 {backup}。",
    ),
    (
        "calib.unchanged",
        "Nothing changed; the file was not written.",
        "没有修改，未写入文件。",
    ),
    (
        "calib.refused",
        "Not saved: check-config refuses the new config. The file is unchanged.",
        "未保存：check-config 拒绝了新配置，文件未改动。",
    ),
    (
        "calib.stale",
        "Not saved: the config file changed since this page was loaded. Reload the page.",
        "未保存：本页面加载后配置文件已被修改，请刷新页面。",
    ),
    ("calib.failed", "Not saved", "未保存"),
    (
        "calib.reload.restarted",
        "Reloaded: the camera runs with the new calibration.",
        "已重新加载：摄像头已使用新的标定运行。",
    ),
    (
        "calib.reload.unchanged",
        "Reloaded: nothing the camera uses changed.",
        "已重新加载：摄像头使用的配置无变化。",
    ),
    (
        "calib.reload.disabled",
        "Reloaded; this camera is disabled.",
        "已重新加载；该摄像头已停用。",
    ),
    (
        "calib.reload.failed",
        "Saved, but the camera could not start with it and keeps its old config:",
        "已保存，但摄像头无法以新配置启动，仍使用旧配置：",
    ),
    (
        "calib.reload.rejected",
        "Saved, but the daemon refused to reload it:",
        "已保存，但守护进程拒绝重新加载：",
    ),
    (
        "calib.reload.timeout",
        "Saved, but the daemon did not answer the reload; see its log.",
        "已保存，但守护进程未响应重新加载，请查看日志。",
    ),
    ("calib.floor", "floor", "楼层"),
    ("calib.column", "column", "户列"),
    ("calib.unit", "unit", "房号"),
    (
        "calib.first_floor",
        "Number of the floor above the lowest line",
        "最低楼层线以上楼层的编号",
    ),
    (
        "calib.unit_label",
        "Unit label ({floor} and {column} are replaced)",
        "房号格式（{floor} 和 {column} 会被替换）",
    ),
    (
        "calib.not_integer",
        "must be a whole number",
        "必须是整数",
    ),
    (
        "calib.no_permission",
        "Not saved: the daemon may not write {file} ({why}); the file is unchanged. The packaged service runs as the user estatewatch: give it the file and let it write in the folder (sudo chown estatewatch: {file}; sudo chgrp estatewatch {dir}; sudo chmod 1775 {dir}), as the package's installation does; see docs/console.md, \"Saving the config\".",
        "未保存：守护进程无权写入 {file}（{why}），文件未改动。软件包自带的服务以用户 estatewatch 运行：请把该文件交给它，并允许它在该目录中写入（sudo chown estatewatch: {file}; sudo chgrp estatewatch {dir}; sudo chmod 1775 {dir}），与软件包安装时的设置相同；见 docs/console.md 的 \"Saving the config\"。",
    ),
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
    fn every_key_has_both_languages_once_with_the_same_placeholders() {
        // `{name}` holes of a text, sorted.
        let holes = |s: &str| {
            let mut v: Vec<String> = s
                .split('{')
                .skip(1)
                .filter_map(|p| p.split_once('}').map(|(h, _)| h.to_string()))
                .collect();
            v.sort();
            v
        };
        for (k, en, zh) in CATALOG {
            assert!(!en.is_empty() && !zh.is_empty(), "{k}");
            assert_eq!(
                CATALOG.iter().filter(|(o, _, _)| o == k).count(),
                1,
                "{k} twice"
            );
            assert_eq!(holes(en), holes(zh), "{k}");
        }
        assert_eq!(Lang::ZhCn.text("nav.cameras"), "摄像头");
        assert_eq!(Lang::ZhCn.text("board.title"), "事件");
        assert_eq!(Lang::ZhCn.text("calib.save"), "保存并重新加载");
        assert_eq!(Lang::En.text("no.such.key"), "no.such.key");
    }

    #[test]
    fn every_state_kind_and_severity_has_words() {
        for s in crate::desk::IncidentState::ALL {
            let key = format!("state.{}", s.as_str());
            assert_ne!(Lang::ZhCn.text(&key), key);
        }
        for k in ["throwing", "fire", "smoke", "garbage", "motion", "sensor"] {
            let key = format!("kind.{k}");
            assert_ne!(Lang::ZhCn.text(&key), key);
            assert_ne!(Lang::En.text(&key), key);
        }
        for s in ["info", "warning", "major", "critical"] {
            let key = format!("severity.{s}");
            assert_ne!(Lang::ZhCn.text(&key), key);
        }
    }
}
