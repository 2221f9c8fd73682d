//! `estatewatch user add|passwd|remove|list`: the console's users, in the
//! users file named by `[console] users_file` (or `--users-file`).
//! Passwords are read from the terminal (not echoed, asked twice) or, when
//! stdin is not a terminal, as one line from stdin; never from the command
//! line, where other users of the box could see them.

use estatewatch::console::users::{Role, Users};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

/// Where the users file is: the config's `[console] users_file`, or given.
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct Where {
    /// Config file whose `[console] users_file` is edited.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The users file itself.
    #[arg(long)]
    users_file: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Add a user; the password is read from the terminal or stdin.
    Add {
        name: String,
        /// `viewer`, `operator` or `admin`.
        #[arg(long, value_parser = ["viewer", "operator", "admin"])]
        role: String,
        #[command(flatten)]
        at: Where,
    },
    /// Set a user's password (read from the terminal or stdin).
    Passwd {
        name: String,
        #[command(flatten)]
        at: Where,
    },
    /// Remove a user.
    Remove {
        name: String,
        #[command(flatten)]
        at: Where,
    },
    /// List users and roles.
    List {
        #[command(flatten)]
        at: Where,
    },
}

/// The users file `at` names. The config is parsed, not validated: the
/// first user of a LAN-bound console is added to a config that is not yet
/// valid without one.
fn users_path(at: &Where) -> anyhow::Result<PathBuf> {
    if let Some(p) = &at.users_file {
        return Ok(p.clone());
    }
    let Some(config) = &at.config else {
        anyhow::bail!("give --config FILE or --users-file FILE");
    };
    let text = std::fs::read_to_string(config).map_err(|error| {
        estatewatch::config::ConfigError::Read {
            path: config.clone(),
            error,
        }
    })?;
    let c = estatewatch::config::Config::parse_problems(&text).map_err(|problems| {
        estatewatch::config::ConfigError::Syntax {
            path: config.clone(),
            problems,
        }
    })?;
    Ok(c.console.users_file)
}

/// Turns terminal echo off while alive.
struct NoEcho(Option<libc::termios>);

impl NoEcho {
    fn new() -> NoEcho {
        // SAFETY: tcgetattr/tcsetattr on stdin with a zeroed struct the
        // call fills; failures leave the terminal as it was.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return NoEcho(None);
            }
            let old = t;
            t.c_lflag &= !libc::ECHO;
            t.c_lflag |= libc::ECHONL;
            if libc::tcsetattr(0, libc::TCSANOW, &t) != 0 {
                return NoEcho(None);
            }
            NoEcho(Some(old))
        }
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        if let Some(old) = self.0 {
            // SAFETY: restores the settings read in `new`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, &old);
            }
        }
    }
}

fn read_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// The new password: asked twice on a terminal, else one line of stdin.
fn read_password(name: &str) -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        let p = read_line()?;
        anyhow::ensure!(!p.is_empty(), "no password on stdin");
        return Ok(p);
    }
    let _quiet = NoEcho::new();
    eprint!("New password for {name}: ");
    std::io::stderr().flush()?;
    let a = read_line()?;
    eprint!("Again: ");
    std::io::stderr().flush()?;
    let b = read_line()?;
    anyhow::ensure!(a == b, "the two passwords differ; nothing changed");
    Ok(a)
}

fn edit(path: &Path, f: impl FnOnce(&mut Users) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut users = Users::load(path)?;
    f(&mut users)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    users.save(path)?;
    Ok(())
}

fn run_action(action: &Action) -> anyhow::Result<()> {
    match action {
        Action::Add { name, role, at } => {
            let path = users_path(at)?;
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            if Users::load(&path)?.get(name).is_some() {
                anyhow::bail!(
                    "user {name:?} already exists in {}; use `estatewatch user passwd {name}`",
                    path.display()
                );
            }
            let password = read_password(name)?;
            edit(&path, |u| Ok(u.add(name, role, &password)?))?;
            eprintln!("added {name} ({role}) to {}", path.display());
        }
        Action::Passwd { name, at } => {
            let path = users_path(at)?;
            if Users::load(&path)?.get(name).is_none() {
                anyhow::bail!("no user named {name:?} in {}", path.display());
            }
            let password = read_password(name)?;
            edit(&path, |u| Ok(u.set_password(name, &password)?))?;
            eprintln!(
                "password of {name} changed in {} (their open sessions end)",
                path.display()
            );
        }
        Action::Remove { name, at } => {
            let path = users_path(at)?;
            edit(&path, |u| {
                let before = u.users.len();
                u.users.retain(|x| &x.name != name);
                anyhow::ensure!(
                    u.users.len() < before,
                    "no user named {name:?} in {}",
                    path.display()
                );
                Ok(())
            })?;
            eprintln!("removed {name} from {}", path.display());
        }
        Action::List { at } => {
            let path = users_path(at)?;
            for u in Users::load(&path)?.users {
                println!(
                    "{}\t{}\t{}",
                    u.name,
                    u.role,
                    u.lang.as_deref().unwrap_or("-")
                );
            }
        }
    }
    Ok(())
}

/// Exits 2 when the config cannot be read or parsed, 1 on other failures.
pub fn run(args: &Args) -> ExitCode {
    super::exit_on(run_action(&args.action))
}
