//! `estatewatch serve-rtsp`: video files served as looping RTSP cameras on
//! 127.0.0.1 until SIGINT/SIGTERM, for demos and trials.

use super::exit_on;
use anyhow::Context;
use estatewatch::ingest::rtsp_server::RtspServer;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 8554)]
    port: u16,
    /// MOUNT=FILE pairs; each file is served at rtsp://127.0.0.1:PORT/MOUNT.
    #[arg(required = true)]
    streams: Vec<String>,
}

pub fn run(args: &Args) -> ExitCode {
    exit_on(serve_rtsp(args.port, &args.streams))
}

fn serve_rtsp(port: u16, streams: &[String]) -> anyhow::Result<()> {
    let mut mounts = Vec::new();
    for s in streams {
        let (mount, file) = s
            .split_once('=')
            .with_context(|| format!("expected MOUNT=FILE, got {s:?}"))?;
        let file = PathBuf::from(file);
        anyhow::ensure!(file.is_file(), "{} is not a file", file.display());
        mounts.push((mount.trim_start_matches('/').to_string(), file));
    }
    let server = RtspServer::start(port, None)?;
    for (mount, file) in &mounts {
        server.add_file_loop(&format!("/{mount}"), file);
        println!(
            "serving {} at {}",
            file.display(),
            server.url(&format!("/{mount}"))
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
        Ok::<(), std::io::Error>(())
    })?;
    server.stop();
    Ok(())
}
