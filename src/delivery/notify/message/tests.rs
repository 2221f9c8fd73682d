//! Unit tests of the notifier messages built from alerts.

use super::*;
use crate::delivery::notify::adapter::CameraNames;
use serde_json::json;
use std::collections::BTreeMap;

fn ctx() -> Context {
    Context {
        site_name: "海景花园".into(),
        timezone: "Asia/Shanghai".parse().expect("zone"),
        cameras: BTreeMap::from([(
            "shed-3".to_string(),
            CameraNames {
                name: "3号楼电动车棚".into(),
                zones: BTreeMap::from([("charging".to_string(), "充电区".to_string())]),
            },
        )]),
        console_url: Some("https://10.0.0.5:9807/".into()),
        evidence_dir: "/nonexistent".into(),
    }
}

const EVENT: &str = "0193a0b1-0000-7000-8000-000000000001";

fn fire() -> Value {
    json!({
        "schema": "estatewatch.alert.v1", "id": "0193a0b1-0000-7000-8000-000000000002",
        "event": EVENT, "state": "new", "kind": "fire", "severity": "critical",
        "camera": "shed-3", "zone": "charging", "detected_at": "2026-12-03T19:12:45.512Z",
        "details": {},
        "evidence": {"files": [
            {"name": "snapshot-detect.jpg", "path": "shed-3/e/snapshot-detect.jpg"},
            {"name": "clip.mp4", "path": "shed-3/e/clip.mp4"}
        ]}
    })
}

fn build(p: &Value, topic: Option<&str>, lang: NotifyLang) -> Message {
    Message::build(
        &Outgoing {
            seq: 7,
            topic,
            payload: p,
        },
        &ctx(),
        lang,
    )
    .expect("message")
}

#[test]
fn zh_fire_has_local_time_display_names_evidence_and_link() {
    let m = build(&fire(), None, NotifyLang::ZhCn);
    assert_eq!(m.title, "【紧急】火情 · 3号楼电动车棚");
    assert_eq!(
        m.text(NotifyLang::ZhCn),
        format!(
            "【紧急】火情 · 3号楼电动车棚\n状态：新告警\n时间：2026-12-04 03:12:45 CST\n\
                 地点：3号楼电动车棚 · 充电区\n证据：图片已保存，录像已保存\n\
                 打开事件页：https://10.0.0.5:9807/incidents/{EVENT}"
        )
    );
    let md = m.markdown(NotifyLang::ZhCn);
    assert!(
        md.starts_with("### 【紧急】火情 · 3号楼电动车棚\n**状态**：新告警\n"),
        "{md}"
    );
    assert!(
        md.ends_with(&format!(
            "[打开事件页](https://10.0.0.5:9807/incidents/{EVENT})"
        )),
        "{md}"
    );
}

#[test]
fn en_end_without_console_has_no_link() {
    let mut p = fire();
    p["state"] = "end".into();
    let mut c = ctx();
    c.console_url = None;
    let m = Message::build(
        &Outgoing {
            seq: 1,
            topic: None,
            payload: &p,
        },
        &c,
        NotifyLang::En,
    )
    .expect("message");
    assert_eq!(m.title, "[critical] Fire · 3号楼电动车棚");
    let t = m.text(NotifyLang::En);
    assert!(t.contains("\nState: ended\n"), "{t}");
    assert!(t.contains("\nTime: 2026-12-04 03:12:45 CST\n"), "{t}");
    assert!(m.link.is_none());
}

#[test]
fn throws_name_floor_column_and_unit() {
    let p = json!({
        "event": EVENT, "state": "new", "kind": "throwing", "severity": "major",
        "camera": "tower-a", "zone": null, "detected_at": "2026-12-04T02:00:00.000Z",
        "details": {"origin": {"floor": 12, "column": 2, "column_label": "03",
            "unit_label": "1203", "within_calibration": true, "second_floor": 11}}
    });
    let m = build(&p, None, NotifyLang::ZhCn);
    let t = m.text(NotifyLang::ZhCn);
    assert!(
        t.contains("\n位置：12层 · 03列 · 1203室（也可能是11层）\n"),
        "{t}"
    );
    assert!(
        t.contains("\n地点：tower-a\n"),
        "unknown camera shows its id: {t}"
    );
    let en = build(&p, None, NotifyLang::En).text(NotifyLang::En);
    assert!(
        en.contains("\nUnit: floor 12, column 03, unit 1203 (or floor 11)\n"),
        "{en}"
    );
}

#[test]
fn escalations_and_handling_steps_say_what_happened() {
    let esc = json!({"event": EVENT, "kind": "fire", "severity": "critical", "camera": "shed-3",
            "zone": null, "escalated": true, "escalate_after_s": 120,
            "escalated_at": "2026-12-03T19:14:45.000Z", "first_at": "2026-12-03T19:12:45.512Z",
            "alert": fire()});
    let t = build(
        &esc,
        Some(format!("incidents/{EVENT}/escalation").as_str()),
        NotifyLang::ZhCn,
    )
    .text(NotifyLang::ZhCn);
    assert!(
        t.contains("\n状态：超时未确认，已升级\n说明：2分钟内无人确认\n"),
        "{t}"
    );
    assert!(t.contains("\n时间：2026-12-04 03:12:45 CST\n"), "{t}");
    assert!(t.contains("证据：图片已保存"), "{t}");

    let step = json!({"event": EVENT, "kind": "fire", "camera": "shed-3", "zone": null,
            "at": "2026-12-03T19:13:00.000Z", "actor": {"name": "王师傅", "via": "console"},
            "action": "resolve", "outcome": "false_alarm", "reason": "电焊"});
    let m = build(
        &step,
        Some(format!("incidents/{EVENT}/handling").as_str()),
        NotifyLang::ZhCn,
    );
    assert_eq!(m.title, "火情 · 3号楼电动车棚");
    let t = m.text(NotifyLang::ZhCn);
    assert!(
        t.contains("\n处理：已判定为误报：电焊\n处理人：王师傅\n时间：2026-12-04 03:13:00 CST\n"),
        "{t}"
    );
}

/// True for Chinese characters and full-width punctuation.
fn wide(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303f}' | '\u{4e00}'..='\u{9fff}' | '\u{ff00}'..='\u{ffef}')
}

/// Spaces beside Chinese text, other than the ` · ` separators and
/// the one after a markdown heading's `###`.
fn stray_spaces(text: &str) -> Vec<String> {
    let c: Vec<char> = text.chars().collect();
    (0..c.len())
        .filter(|&i| c[i] == ' ')
        .filter(|&i| c.get(i + 1) != Some(&'·') && (i == 0 || !matches!(c[i - 1], '·' | '#')))
        .filter(|&i| (i > 0 && wide(c[i - 1])) || c.get(i + 1).is_some_and(|n| wide(*n)))
        .map(|i| {
            c[i.saturating_sub(6)..(i + 7).min(c.len())]
                .iter()
                .collect()
        })
        .collect()
}

#[test]
fn zh_text_has_no_stray_spaces() {
    // Each word with a value in it, exactly.
    assert_eq!((ZH.escalated_after)(120), "2分钟内无人确认");
    assert_eq!((ZH.escalated_after)(90), "90秒内无人确认");
    assert_eq!((ZH.assigned_to)("王师傅"), "已指派给王师傅");
    assert_eq!((ZH.floor)(12), "12层");
    assert_eq!((ZH.column)("03"), "03列");
    assert_eq!((ZH.room)("1203"), "1203室");
    assert_eq!((ZH.or_floor)(11), "（也可能是11层）");

    // Whole messages of every type, exactly.
    let esc = json!({"event": EVENT, "kind": "fire", "severity": "critical", "camera": "shed-3",
            "zone": "charging", "escalated": true, "escalate_after_s": 120,
            "escalated_at": "2026-12-03T19:14:45.000Z", "first_at": "2026-12-03T19:12:45.512Z",
            "alert": fire()});
    let esc_text = build(
        &esc,
        Some(&format!("incidents/{EVENT}/escalation")),
        NotifyLang::ZhCn,
    )
    .text(NotifyLang::ZhCn);
    assert_eq!(
        esc_text,
        format!(
            "【紧急】火情 · 3号楼电动车棚\n状态：超时未确认，已升级\n说明：2分钟内无人确认\n\
                 首次告警：2026-12-04 03:12:45 CST\n时间：2026-12-04 03:12:45 CST\n\
                 地点：3号楼电动车棚 · 充电区\n证据：图片已保存，录像已保存\n\
                 打开事件页：https://10.0.0.5:9807/incidents/{EVENT}"
        )
    );
    let assign = json!({"event": EVENT, "kind": "fire", "camera": "shed-3", "zone": null,
            "at": "2026-12-03T19:13:00.000Z", "actor": {"name": "李主管", "via": "platform"},
            "action": "assign", "to": "王师傅"});
    let assign_text = build(
        &assign,
        Some(&format!("incidents/{EVENT}/handling")),
        NotifyLang::ZhCn,
    )
    .text(NotifyLang::ZhCn);
    assert_eq!(
        assign_text,
        format!(
            "火情 · 3号楼电动车棚\n处理：已指派给王师傅\n处理人：李主管（平台）\n\
                 时间：2026-12-04 03:13:00 CST\n地点：3号楼电动车棚\n\
                 打开事件页：https://10.0.0.5:9807/incidents/{EVENT}"
        )
    );
    let throw = json!({
        "event": EVENT, "state": "end", "kind": "throwing", "severity": "major",
        "camera": "shed-3", "zone": null, "detected_at": "2026-12-04T02:00:00.000Z",
        "details": {"origin": {"floor": 12, "column_label": "03", "unit_label": "1203",
            "within_calibration": false, "second_floor": 11},
            "sensor": "烟感-3", "area": "车棚"}
    });
    let throw_text = build(&throw, None, NotifyLang::ZhCn).text(NotifyLang::ZhCn);
    assert_eq!(
            throw_text,
            format!(
                "【严重】高空抛物 · 3号楼电动车棚\n状态：已结束\n时间：2026-12-04 10:00:00 CST\n\
                 地点：3号楼电动车棚\n位置：12层 · 03列 · 1203室（也可能是11层）（在标定范围外，为推算）\n\
                 传感器：烟感-3 · 车棚\n\
                 打开事件页：https://10.0.0.5:9807/incidents/{EVENT}"
            )
        );
    // And the markdown the vendors send: no space beside Chinese text
    // but the ` · ` separators.
    for (p, topic) in [
        (fire(), None),
        (esc.clone(), Some(format!("incidents/{EVENT}/escalation"))),
        (assign.clone(), Some(format!("incidents/{EVENT}/handling"))),
        (throw.clone(), None),
    ] {
        let m = build(&p, topic.as_deref(), NotifyLang::ZhCn);
        for text in [m.text(NotifyLang::ZhCn), m.markdown(NotifyLang::ZhCn)] {
            assert_eq!(stray_spaces(&text), Vec::<String>::new(), "{text}");
        }
    }
    assert_eq!(stray_spaces("2 分钟 内"), ["2 分钟 内", "2 分钟 内"]);
}

#[test]
fn payload_without_kind_is_an_error_naming_the_row() {
    let e = Message::build(
        &Outgoing {
            seq: 42,
            topic: None,
            payload: &json!({}),
        },
        &ctx(),
        NotifyLang::En,
    )
    .expect_err("no kind");
    assert!(e.to_string().contains("outbox row 42"), "{e}");
}

#[test]
fn snapshot_prefers_the_full_resolution_file() {
    let mut p = fire();
    assert_eq!(snapshot_file(&p), Some("shed-3/e/snapshot-detect.jpg"));
    p["evidence"]["files"]
        .as_array_mut()
        .expect("files")
        .push(json!({"name": "snapshot.jpg", "path": "shed-3/e/snapshot.jpg"}));
    assert_eq!(snapshot_file(&p), Some("shed-3/e/snapshot.jpg"));
    assert_eq!(
        snapshot_file(&json!({"alert": p})),
        Some("shed-3/e/snapshot.jpg")
    );
    assert_eq!(snapshot_file(&json!({"kind": "fire"})), None);
}

#[test]
fn fit_cuts_at_a_character_boundary() {
    assert_eq!(Message::fit("火情火情".into(), 12), "火情火情");
    let cut = Message::fit("火情火情".into(), 10);
    assert_eq!(cut, "火情…");
    assert!(cut.len() <= 10);
}

#[test]
fn names_cannot_inject_markdown() {
    assert_eq!(md("a*b_[c](d) <#1>"), "a＊b_［c］(d) ＜＃1＞");
}
