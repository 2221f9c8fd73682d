//! ONNX Runtime: finding and loading the shared library (once per process),
//! and one [`Model`] per ONNX file: its checked manifest, its session and the
//! input/output facts read from the ONNX file itself.
//!
//! The library is loaded with `ort::init_from`, never with a search by name,
//! so a missing or too-old library is an error value, not a panic. Where it
//! is looked for, first hit wins (no environment variable involved):
//! 1. `runtime.onnxruntime` from the config, when set (and nothing else);
//! 2. `<checkout>/.ort/` — only for a developer build run from a checkout's
//!    `target/` folder (see [`checkout_of`]);
//! 3. `/usr/lib/estatewatch/` — the Debian package.
//!
//! Models likewise: `runtime.models_dir` when set (and nothing else), else
//! `<checkout>/models` for a developer build, else
//! `/usr/share/estatewatch/models`. No path of the build machine is compiled
//! into the binary: an installed `/usr/bin/estatewatch` looks only in the
//! packaged folders and the configured ones.
//!
//! ONNX Runtime allows one library and one environment per process; the first
//! successful load stays for the life of the process.

use super::config::RuntimeConfig;
use super::decode::RawTensor;
use super::manifest::{self, InputType, Layout, Manifest};
use super::preprocess::{InputFormat, TensorData};
use super::DetectorError;
use crate::base::lock;
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};
use sha2::{Digest, Sha256};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The ONNX Runtime version `scripts/setup.sh` installs.
pub const ORT_VERSION: &str = "1.32.0";
/// File name of the library.
pub const ORT_LIBRARY: &str = "libonnxruntime.so.1.32.0";
/// Where the Debian package puts the library.
pub const PACKAGED_LIBRARY_DIR: &str = "/usr/lib/estatewatch";
/// Where the Debian package puts the models.
pub const PACKAGED_MODELS_DIR: &str = "/usr/share/estatewatch/models";
/// The oldest ONNX Runtime minor version `ort` accepts (1.x).
pub const MIN_ORT_MINOR: u32 = ort::MINOR_VERSION;

/// The checkout a developer build runs from, found from the executable's
/// path: the folder holding `Cargo.toml` above the `target/` folder the
/// executable is in (`target/{debug,release}/estatewatch`, a test binary in
/// `target/debug/deps/`, or `target/<triple>/release/estatewatch`). `None`
/// for an installed binary such as `/usr/bin/estatewatch`, which therefore
/// never probes `/.ort` or `/models`.
pub fn checkout_of(exe: &Path) -> Option<PathBuf> {
    exe.ancestors()
        .skip(1)
        .take(4)
        .find(|d| d.file_name() == Some(std::ffi::OsStr::new("target")))
        .and_then(Path::parent)
        .filter(|project| project.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
}

/// [`checkout_of`] the running executable.
fn exe_checkout_dir() -> Option<PathBuf> {
    checkout_of(&std::env::current_exe().ok()?)
}

/// Places the library is looked for, in order (see the module doc).
pub fn library_candidates(cfg: &RuntimeConfig) -> Vec<PathBuf> {
    library_candidates_in(cfg, exe_checkout_dir().as_deref())
}

/// [`library_candidates`] for a binary in `checkout` (`None`: installed).
pub fn library_candidates_in(cfg: &RuntimeConfig, checkout: Option<&Path>) -> Vec<PathBuf> {
    if let Some(p) = &cfg.onnxruntime {
        return vec![p.clone()];
    }
    let mut v = Vec::new();
    if let Some(project) = checkout {
        v.push(project.join(".ort").join(ORT_LIBRARY));
    }
    v.push(Path::new(PACKAGED_LIBRARY_DIR).join(ORT_LIBRARY));
    v
}

/// The first existing library among [`library_candidates`].
pub fn locate_library(cfg: &RuntimeConfig) -> Result<PathBuf, DetectorError> {
    let tried = library_candidates(cfg);
    tried
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or(DetectorError::RuntimeNotFound { tried })
}

/// Folders the models are looked for in, in order (see the module doc), for
/// a binary in `checkout` (`None`: installed).
pub fn models_dir_candidates_in(cfg: &RuntimeConfig, checkout: Option<&Path>) -> Vec<PathBuf> {
    if let Some(d) = &cfg.models_dir {
        return vec![d.clone()];
    }
    let mut v = Vec::new();
    if let Some(project) = checkout {
        v.push(project.join("models"));
    }
    v.push(PathBuf::from(PACKAGED_MODELS_DIR));
    v
}

/// The models folder: the first existing one among
/// [`models_dir_candidates_in`] for the running executable.
pub fn locate_models_dir(cfg: &RuntimeConfig) -> Result<PathBuf, DetectorError> {
    let tried = models_dir_candidates_in(cfg, exe_checkout_dir().as_deref());
    tried
        .iter()
        .find(|p| p.is_dir())
        .cloned()
        .ok_or(DetectorError::ModelsDirNotFound { tried })
}

/// The process-wide environment and the library it came from.
static ENVIRONMENT: Mutex<Option<(PathBuf, ort::environment::Environment)>> = Mutex::new(None);

/// Loads the ONNX Runtime library (first call only) and returns the
/// process-wide environment. A later call naming another library file is an
/// error: a process can hold only one.
pub fn environment(cfg: &RuntimeConfig) -> Result<ort::environment::Environment, DetectorError> {
    let path = locate_library(cfg)?;
    let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
    let mut slot = lock(&ENVIRONMENT);
    if let Some((loaded, env)) = slot.as_ref() {
        if *loaded == canonical {
            return Ok(env.clone());
        }
        return Err(DetectorError::RuntimeConflict {
            loaded: loaded.clone(),
            requested: path,
        });
    }
    let builder = match catch_unwind(|| ort::init_from(&path)) {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return Err(load_error(&path, e)),
        Err(panic) => {
            return Err(DetectorError::RuntimeLoad {
                path,
                message: format!("the ort crate panicked: {}", panic_text(&panic)),
            })
        }
    };
    let env = guard(|| {
        builder
            .with_name("estatewatch")
            .with_telemetry(false)
            .build()
    })
    .and_then(|r| r.map_err(OrtError::ort))
    .map_err(|e| DetectorError::RuntimeLoad {
        path: path.clone(),
        message: format!("cannot create the ONNX Runtime environment: {e}"),
    })?;
    tracing::info!(library = %path.display(), "ONNX Runtime loaded");
    *slot = Some((canonical, env.clone()));
    Ok(env)
}

fn load_error(path: &Path, e: ort::LoadDynamicError) -> DetectorError {
    use ort::LoadDynamicError as E;
    match e {
        E::BadVersion { version_str, .. } => DetectorError::RuntimeTooOld {
            path: path.to_path_buf(),
            found: version_str,
            min_minor: MIN_ORT_MINOR,
        },
        E::MissingApi { .. } => DetectorError::RuntimeLoad {
            path: path.to_path_buf(),
            message: "not an ONNX Runtime library (no OrtGetApiBase symbol)".into(),
        },
        E::Dlopen { error, .. } => DetectorError::RuntimeLoad {
            path: path.to_path_buf(),
            message: with_sources(&error),
        },
        other => DetectorError::RuntimeLoad {
            path: path.to_path_buf(),
            message: other.to_string(),
        },
    }
}

/// An error and its chain of causes, `a: b: c` (libloading puts the
/// dlerror text in the source).
fn with_sources(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// A failure inside ONNX Runtime or the `ort` crate, before it is put in
/// context (which file, which model) as a [`DetectorError`].
#[derive(Debug, thiserror::Error)]
enum OrtError {
    #[error("the ort crate panicked: {0}")]
    Panicked(String),
    /// An error `ort` returned, as it words it.
    #[error("{0}")]
    Ort(String),
    #[error("output {name:?} missing from the results")]
    MissingOutput { name: String },
    #[error("output {name:?}: not a float32/int64/int32 tensor: {detail}")]
    NotNumeric { name: String, detail: String },
}

impl OrtError {
    fn ort<R>(e: ort::Error<R>) -> OrtError {
        OrtError::Ort(e.to_string())
    }
}

/// Runs `f`, turning a panic inside the `ort` crate into an error.
fn guard<T>(f: impl FnOnce() -> T) -> Result<T, OrtError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| OrtError::Panicked(panic_text(&p)))
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// What the ONNX file says about one input or output.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    pub name: String,
    /// Element type, `None` for non-tensors.
    pub ty: Option<TensorElementType>,
    /// Dimensions; negative for dynamic ones.
    pub dims: Vec<i64>,
}

impl TensorInfo {
    fn from_outlet(o: &ort::value::Outlet) -> TensorInfo {
        match o.dtype() {
            ValueType::Tensor { ty, shape, .. } => TensorInfo {
                name: o.name().to_string(),
                ty: Some(*ty),
                dims: shape.to_vec(),
            },
            _ => TensorInfo {
                name: o.name().to_string(),
                ty: None,
                dims: Vec::new(),
            },
        }
    }

    /// True when the dims match `want` (`None` = any size); dynamic dims match anything.
    pub fn dims_fit(&self, want: &[Option<usize>]) -> bool {
        self.dims.len() == want.len()
            && self
                .dims
                .iter()
                .zip(want)
                .all(|(&d, w)| d < 0 || w.is_none_or(|w| d as usize == w))
    }
}

/// One loaded model: manifest, class names and a session.
///
/// The session sits behind a mutex: `ort` runs take `&mut Session` (ONNX
/// Runtime's CPU provider is thread-safe, but `ort` 2.0 does not promise it
/// for every provider), so cameras sharing a model take turns for the
/// inference itself; pre- and post-processing run outside the lock.
pub struct Model {
    pub name: String,
    /// The manifest file, for error messages.
    pub manifest_path: PathBuf,
    pub manifest: Manifest,
    pub classes: Vec<String>,
    pub input: InputFormat,
    pub input_info: TensorInfo,
    pub outputs: Vec<TensorInfo>,
    /// Outputs read after each run, in the order the decoder wants them.
    pub run_outputs: Vec<String>,
    input_shape: Vec<i64>,
    session: Mutex<Session>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.name)
            .field("manifest_path", &self.manifest_path)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Loads `<models_dir>/<name>/model.toml`, checks it, its class file and
    /// the ONNX file's sha256, builds the session and checks the input.
    /// The caller resolves the outputs ([`Model::output`]) and sets `run_outputs`.
    pub fn load(
        env: &ort::environment::Environment,
        models_dir: &Path,
        name: &str,
        threads: usize,
    ) -> Result<Model, DetectorError> {
        let dir = models_dir.join(name);
        let manifest_path = dir.join("model.toml");
        if !manifest_path.is_file() {
            return Err(DetectorError::ModelNotFound {
                name: name.to_string(),
                path: manifest_path,
            });
        }
        let text = read_text(&manifest_path)?;
        let manifest = Manifest::parse(&text).map_err(|problems| DetectorError::Manifest {
            path: manifest_path.clone(),
            message: problems.join("; "),
        })?;
        if manifest.name != name {
            return Err(DetectorError::Manifest {
                path: manifest_path,
                message: format!(
                    "name: must be the folder's name {name:?}, got {:?}",
                    manifest.name
                ),
            });
        }
        let classes_path = dir.join(&manifest.output.classes_file);
        let classes = manifest::parse_classes(&read_text(&classes_path)?).map_err(|m| {
            DetectorError::Manifest {
                path: classes_path.clone(),
                message: format!("output.classes_file: {m}"),
            }
        })?;

        let onnx_path = manifest.model_path(&dir);
        let bytes = std::fs::read(&onnx_path).map_err(|source| DetectorError::Io {
            path: onnx_path.clone(),
            source,
        })?;
        let actual = hex(&Sha256::digest(&bytes));
        if actual != manifest.sha256 {
            return Err(DetectorError::Checksum {
                path: onnx_path,
                manifest: manifest_path,
                expected: manifest.sha256.clone(),
                actual,
            });
        }
        let session = build_session(env, &bytes, threads).map_err(|e| DetectorError::Session {
            path: onnx_path.clone(),
            message: e.to_string(),
        })?;
        let inputs: Vec<TensorInfo> = session
            .inputs()
            .iter()
            .map(TensorInfo::from_outlet)
            .collect();
        let outputs: Vec<TensorInfo> = session
            .outputs()
            .iter()
            .map(TensorInfo::from_outlet)
            .collect();

        let mismatch = |message: String| DetectorError::Mismatch {
            path: manifest_path.clone(),
            message,
        };
        let spec = &manifest.input;
        let input_info = match inputs.as_slice() {
            [one] if one.name == spec.name => one.clone(),
            [one] => {
                return Err(mismatch(format!(
                    "input.name: {:?} is not an input of {}; its input is {:?}",
                    spec.name,
                    manifest.file.display(),
                    one.name
                )))
            }
            many => {
                return Err(mismatch(format!(
                    "{} has {} inputs {:?}; estatewatch feeds exactly one image input",
                    manifest.file.display(),
                    many.len(),
                    many.iter().map(|i| i.name.as_str()).collect::<Vec<_>>()
                )))
            }
        };
        let want_ty = match spec.dtype {
            InputType::Float32 => TensorElementType::Float32,
            InputType::Uint8 => TensorElementType::Uint8,
        };
        if input_info.ty != Some(want_ty) {
            return Err(mismatch(format!(
                "input.dtype: manifest says {:?} but input {:?} is {:?}",
                spec.dtype, spec.name, input_info.ty
            )));
        }
        let (w, h) = (spec.width as usize, spec.height as usize);
        let want = match spec.layout {
            Layout::NCHW => [Some(1), Some(3), Some(h), Some(w)],
            Layout::NHWC => [Some(1), Some(h), Some(w), Some(3)],
        };
        if !input_info.dims_fit(&want) {
            return Err(mismatch(format!(
                "input: manifest says {:?} {}x{} (shape {}) but input {:?} has shape {:?}",
                spec.layout,
                spec.width,
                spec.height,
                match spec.layout {
                    Layout::NCHW => format!("[1, 3, {h}, {w}]"),
                    Layout::NHWC => format!("[1, {h}, {w}, 3]"),
                },
                spec.name,
                input_info.dims
            )));
        }
        let input_shape = match spec.layout {
            Layout::NCHW => vec![1, 3, h as i64, w as i64],
            Layout::NHWC => vec![1, h as i64, w as i64, 3],
        };
        let input = InputFormat {
            width: spec.width,
            height: spec.height,
            layout: spec.layout,
            color: spec.color,
            dtype: spec.dtype,
            mean: manifest.mean(),
            std: manifest.std(),
            resize: spec.resize,
        };
        tracing::info!(
            model = name,
            file = %onnx_path.display(),
            threads,
            format = %manifest.output.format,
            classes = classes.len(),
            "model loaded"
        );
        Ok(Model {
            name: name.to_string(),
            manifest_path,
            manifest,
            classes,
            input,
            input_info,
            outputs,
            run_outputs: Vec::new(),
            input_shape,
            session: Mutex::new(session),
        })
    }

    /// The output named `name` (manifest field `field`), or the model's only
    /// output when `name` is `None`.
    pub fn output(&self, name: Option<&str>, field: &str) -> Result<&TensorInfo, DetectorError> {
        let found = match name {
            Some(n) => self.outputs.iter().find(|o| o.name == n),
            None if self.outputs.len() == 1 => self.outputs.first(),
            None => {
                return Err(self.mismatch(format!(
                    "{field}: the model has {} outputs {:?}; name the one to use",
                    self.outputs.len(),
                    self.output_names()
                )))
            }
        };
        found.ok_or_else(|| {
            self.mismatch(format!(
                "{field}: {:?} is not an output of {}; its outputs are {:?}",
                name.unwrap_or_default(),
                self.manifest.file.display(),
                self.output_names()
            ))
        })
    }

    /// Checks an output's dims (`None` = any) and element type (float unless `any_number`).
    pub fn expect_output(
        &self,
        o: &TensorInfo,
        field: &str,
        want: &[Option<usize>],
        any_number: bool,
    ) -> Result<(), DetectorError> {
        let ty_ok = match o.ty {
            Some(TensorElementType::Float32) => true,
            Some(TensorElementType::Int64 | TensorElementType::Int32) => any_number,
            _ => false,
        };
        if !ty_ok {
            return Err(self.mismatch(format!(
                "{field}: output {:?} has element type {:?}; expected float32",
                o.name, o.ty
            )));
        }
        if !o.dims_fit(want) {
            let shown: Vec<String> = want
                .iter()
                .map(|d| d.map_or("N".to_string(), |d| d.to_string()))
                .collect();
            return Err(self.mismatch(format!(
                "{field}: output {:?} has shape {:?}; format {} with {} classes expects [{}]",
                o.name,
                o.dims,
                self.manifest.output.format,
                self.classes.len(),
                shown.join(", ")
            )));
        }
        Ok(())
    }

    /// A manifest/model mismatch error for this model.
    pub fn mismatch(&self, message: String) -> DetectorError {
        DetectorError::Mismatch {
            path: self.manifest_path.clone(),
            message,
        }
    }

    fn output_names(&self) -> Vec<&str> {
        self.outputs.iter().map(|o| o.name.as_str()).collect()
    }

    /// Runs the model on one input tensor and copies out `run_outputs`.
    pub fn run(&self, data: &TensorData) -> Result<Vec<RawTensor>, DetectorError> {
        let fail = |e: OrtError| DetectorError::Inference {
            model: self.name.clone(),
            message: e.to_string(),
        };
        let result = guard(|| -> Result<Vec<RawTensor>, OrtError> {
            let value: ort::session::SessionInputValue<'_> = match data {
                TensorData::F32(v) => {
                    TensorRef::from_array_view((self.input_shape.clone(), v.as_slice()))
                        .map_err(OrtError::ort)?
                        .into()
                }
                TensorData::U8(v) => {
                    TensorRef::from_array_view((self.input_shape.clone(), v.as_slice()))
                        .map_err(OrtError::ort)?
                        .into()
                }
            };
            let mut session = lock(&self.session);
            let started = std::time::Instant::now();
            let outputs = session
                .run(ort::inputs![self.input_info.name.as_str() => value])
                .map_err(OrtError::ort)?;
            let took = started.elapsed();
            crate::monitor::model_timings().record(&self.name, took);
            crate::monitor::inference_stats().inference(&self.name, took);
            self.run_outputs
                .iter()
                .map(|name| {
                    let v = outputs
                        .get(name)
                        .ok_or_else(|| OrtError::MissingOutput { name: name.clone() })?;
                    extract(name, v)
                })
                .collect()
        });
        result.map_err(fail)?.map_err(fail)
    }
}

fn build_session(
    env: &ort::environment::Environment,
    bytes: &[u8],
    threads: usize,
) -> Result<Session, OrtError> {
    guard(|| -> Result<Session, OrtError> {
        let builder = Session::builder(env).map_err(OrtError::ort)?;
        let builder = builder.with_intra_threads(threads).map_err(OrtError::ort)?;
        let builder = builder.with_inter_threads(1).map_err(OrtError::ort)?;
        // Spinning threads would burn the small box's cores between frames.
        let mut builder = builder
            .with_intra_op_spinning(false)
            .map_err(OrtError::ort)?;
        builder.commit_from_memory(bytes).map_err(OrtError::ort)
    })?
}

/// Copies the output tensor `name` out as f32 (float, int64 and int32 outputs).
fn extract(name: &str, v: &ort::value::DynValue) -> Result<RawTensor, OrtError> {
    let shape_of = |s: &ort::value::Shape| s.iter().map(|&d| d.max(0) as usize).collect();
    if let Ok((shape, data)) = v.try_extract_tensor::<f32>() {
        return Ok(RawTensor {
            shape: shape_of(shape),
            data: data.to_vec(),
        });
    }
    if let Ok((shape, data)) = v.try_extract_tensor::<i64>() {
        return Ok(RawTensor {
            shape: shape_of(shape),
            data: data.iter().map(|&x| x as f32).collect(),
        });
    }
    match v.try_extract_tensor::<i32>() {
        Ok((shape, data)) => Ok(RawTensor {
            shape: shape_of(shape),
            data: data.iter().map(|&x| x as f32).collect(),
        }),
        Err(e) => Err(OrtError::NotNumeric {
            name: name.to_string(),
            detail: e.to_string(),
        }),
    }
}

fn read_text(path: &Path) -> Result<String, DetectorError> {
    std::fs::read_to_string(path).map_err(|source| DetectorError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installed_binary_looks_only_in_the_packaged_and_configured_folders() {
        assert_eq!(checkout_of(Path::new("/usr/bin/estatewatch")), None);
        let cfg = RuntimeConfig::default();
        assert_eq!(
            library_candidates_in(&cfg, None),
            vec![Path::new(PACKAGED_LIBRARY_DIR).join(ORT_LIBRARY)]
        );
        assert_eq!(
            models_dir_candidates_in(&cfg, None),
            vec![PathBuf::from(PACKAGED_MODELS_DIR)]
        );
        let set = RuntimeConfig {
            models_dir: Some("/srv/models".into()),
            ..Default::default()
        };
        assert_eq!(
            models_dir_candidates_in(&set, Some(Path::new("/src"))),
            vec![PathBuf::from("/srv/models")]
        );
    }

    #[test]
    fn a_developer_build_finds_its_checkout_from_the_executable() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("checkout");
        std::fs::create_dir_all(project.join("target/debug/deps")).unwrap();
        // No Cargo.toml yet: not a checkout.
        assert_eq!(checkout_of(&project.join("target/debug/estatewatch")), None);
        std::fs::write(project.join("Cargo.toml"), "[package]\n").unwrap();
        for exe in [
            "target/debug/estatewatch",
            "target/release/estatewatch",
            "target/debug/deps/ops_deb-0123",
            "target/x86_64-unknown-linux-gnu/release/estatewatch",
        ] {
            assert_eq!(
                checkout_of(&project.join(exe)).as_deref(),
                Some(project.as_path()),
                "{exe}"
            );
        }
        let c = library_candidates_in(&RuntimeConfig::default(), Some(&project));
        assert_eq!(c[0], project.join(".ort").join(ORT_LIBRARY));
        assert_eq!(c.len(), 2, "{c:?}");
    }
}
