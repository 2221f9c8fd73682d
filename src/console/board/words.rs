//! The board's and the incident page's words, `(key, English, 简体中文)`,
//! looked up by [`crate::console::i18n::Lang::text`] after the console's
//! own catalog. `{name}` in a text is filled by the template's
//! `t("key", name=value)`.

/// The board's part of the message catalog.
pub const WORDS: &[(&str, &str, &str)] = &[
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
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_board_word_has_both_languages_once_and_no_clash_with_the_console() {
        for (k, en, zh) in WORDS {
            assert!(!en.is_empty() && !zh.is_empty(), "{k}");
            assert_eq!(
                WORDS.iter().filter(|(o, _, _)| o == k).count(),
                1,
                "{k} twice"
            );
            assert!(
                !crate::console::i18n::CATALOG.iter().any(|(o, _, _)| o == k),
                "{k} is also in the console's catalog"
            );
            // Placeholders match across the languages.
            let holes = |s: &str| {
                let mut v: Vec<String> = s
                    .split('{')
                    .skip(1)
                    .filter_map(|p| p.split_once('}').map(|(h, _)| h.to_string()))
                    .collect();
                v.sort();
                v
            };
            assert_eq!(holes(en), holes(zh), "{k}");
        }
    }

    #[test]
    fn every_state_kind_and_severity_has_words() {
        use crate::console::i18n::Lang;
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
