//! Loading the ONNX Runtime library: missing, not a library, too old, then
//! the real one. ONNX Runtime can be loaded only once per process, so this
//! module holds a single test that walks through the cases in order, alone
//! in its own process (other tests in this binary load the real library).

use crate::common::own_process::in_own_process;
use estatewatch::analysis::detector::config::RuntimeConfig;
use estatewatch::analysis::detector::{runtime, DetectorError, Models};
use std::path::{Path, PathBuf};
use std::process::Command;

fn cfg(lib: &Path) -> RuntimeConfig {
    RuntimeConfig {
        onnxruntime: Some(lib.to_path_buf()),
        models_dir: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models")),
        intra_op_threads: Some(2),
        ..Default::default()
    }
}

/// Builds a shared library exporting `OrtGetApiBase` that reports `version`
/// (or, with `None`, a library without that symbol).
fn fake_library(dir: &Path, version: Option<&str>) -> PathBuf {
    let name = version.unwrap_or("none");
    let src = dir.join(format!("fake-{name}.c"));
    let lib = dir.join(format!("libonnxruntime.so.{name}"));
    let code = match version {
        Some(v) => format!(
            r#"
            typedef struct {{ const void* (*get_api)(unsigned); const char* (*version)(void); }} Base;
            static const void* get_api(unsigned v) {{ (void)v; return 0; }}
            static const char* version(void) {{ return "{v}"; }}
            static const Base base = {{ get_api, version }};
            const Base* OrtGetApiBase(void) {{ return &base; }}
            "#
        ),
        None => "int not_onnxruntime(void) { return 1; }\n".to_string(),
    };
    std::fs::write(&src, code).unwrap();
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&src)
        .status()
        .expect("cc (build-essential, installed by scripts/setup.sh) is needed to build the fake library");
    assert!(status.success());
    lib
}

#[test]
fn library_errors_are_clear_and_the_real_library_then_loads() {
    // Alone: it loads fake ONNX Runtime libraries before the real one.
    in_own_process!();
    let tmp = tempfile::tempdir().unwrap();

    // No models asked for: the library is not needed at all.
    let missing = tmp.path().join("nowhere/libonnxruntime.so.1.32.0");
    assert!(Models::load(&cfg(&missing), &[])
        .unwrap()
        .names()
        .is_empty());

    // A path that does not exist.
    let e = Models::load(&cfg(&missing), &["tiny-yolov5"]).unwrap_err();
    assert!(matches!(e, DetectorError::RuntimeNotFound { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("ONNX Runtime library not found")
            && text.contains("nowhere/libonnxruntime.so.1.32.0"),
        "{text}"
    );

    // A file that is not a library at all.
    let text_file = tmp.path().join("libonnxruntime.so.txt");
    std::fs::write(
        &text_file,
        "just text, long enough to be read as an ELF header\n".repeat(4),
    )
    .unwrap();
    let e = Models::load(&cfg(&text_file), &["tiny-yolov5"]).unwrap_err();
    assert!(matches!(e, DetectorError::RuntimeLoad { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("cannot load the ONNX Runtime library")
            && text.contains("libonnxruntime.so.txt"),
        "{text}"
    );
    assert!(
        text.contains("invalid ELF header"),
        "the loader's reason is kept: {text}"
    );

    // A library, but not ONNX Runtime.
    let other = fake_library(tmp.path(), None);
    let text = Models::load(&cfg(&other), &["tiny-yolov5"])
        .unwrap_err()
        .to_string();
    assert!(text.contains("not an ONNX Runtime library"), "{text}");

    // ONNX Runtime, but too old for the API this build uses.
    let old = fake_library(tmp.path(), Some("1.16.3"));
    let e = Models::load(&cfg(&old), &["tiny-yolov5"]).unwrap_err();
    assert!(matches!(e, DetectorError::RuntimeTooOld { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("is version 1.16.3")
            && text.contains(&format!("needs 1.{} or newer", runtime::MIN_ORT_MINOR)),
        "{text}"
    );

    // The real library (found without any setting) still loads after all that.
    let real = runtime::locate_library(&RuntimeConfig::default()).unwrap();
    let models = Models::load(&cfg(&real), &["tiny-yolov5"]).unwrap();
    let d = models.get_detector("tiny-yolov5").unwrap();
    assert_eq!(
        d.detect(&vec![0; 64 * 32 * 3], 64, 32, None).unwrap().len(),
        2
    );

    // Once loaded, another library file cannot replace it in this process.
    let e = Models::load(&cfg(&old), &["tiny-yolov5"]).unwrap_err();
    assert!(matches!(e, DetectorError::RuntimeConflict { .. }), "{e:?}");
}

#[test]
fn default_search_order_needs_no_environment_variable() {
    let c = runtime::library_candidates(&RuntimeConfig::default());
    assert!(
        c.iter()
            .any(|p| p == Path::new("/usr/lib/estatewatch/libonnxruntime.so.1.32.0")),
        "{c:?}"
    );
    // This test binary runs from the checkout's target/: its .ort/ comes first.
    assert_eq!(
        c[0],
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".ort/libonnxruntime.so.1.32.0"),
        "{c:?}"
    );
    // A configured path is the only candidate: no silent fallback.
    let set = runtime::library_candidates(&RuntimeConfig {
        onnxruntime: Some("/x/lib.so".into()),
        ..Default::default()
    });
    assert_eq!(set, vec![PathBuf::from("/x/lib.so")]);
}
