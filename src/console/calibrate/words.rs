//! The calibration page's words in English and Simplified Chinese, looked
//! up after the console's catalog (see [`crate::console::i18n`]); the ones
//! its script needs are handed to it by [`script_words`].

use crate::console::i18n::Lang;
use std::collections::BTreeMap;

/// `(key, English, 简体中文)`.
pub const WORDS: &[(&str, &str, &str)] = &[
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
        "The daemon cannot write its config file: saving will fail. Under the packaged service, allow it with a drop-in (ReadWritePaths=/etc/estatewatch; see docs/console.md).",
        "守护进程无法写入配置文件，保存将失败。使用软件包自带的服务时，请通过 drop-in 允许写入（ReadWritePaths=/etc/estatewatch，见 docs/console.md）。",
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
];

/// The words `calibrate.js` shows, by short key (`floor`, `new`, …).
pub fn script_words(lang: Lang) -> BTreeMap<&'static str, String> {
    [
        "floor",
        "column",
        "unit",
        "finish",
        "new",
        "saving",
        "no_picture",
        "whole_frame",
        "zone.name",
        "zone.display_name",
        "layer.facade",
        "layer.floors",
        "layer.columns",
    ]
    .into_iter()
    .map(|k| (k, lang.text(&format!("calib.{k}"))))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_in_both_languages_and_found_by_the_catalog() {
        for (key, en, zh) in WORDS {
            assert!(!en.is_empty() && !zh.is_empty(), "{key}");
            assert_eq!(Lang::ZhCn.text(key), *zh, "{key}");
        }
        assert_eq!(script_words(Lang::ZhCn)["floor"], "楼层");
    }
}
