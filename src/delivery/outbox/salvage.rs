//! Damaged files: moving them aside ([`quarantine`]) and reading what can
//! still be read ([`salvage`]).

use super::schema::APPLICATION_ID;
use super::space::{file_len, sibling};
use super::stats::severity_from_rank;
use super::EncodedAlert;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Moves a damaged outbox (and its WAL and shared-memory files) aside to
/// `<path>.corrupt-<UTC time>` and returns the new name. Nothing is deleted.
pub fn quarantine(path: &Path) -> std::io::Result<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let mut target = path.as_os_str().to_owned();
    target.push(format!(".corrupt-{stamp}"));
    let target = PathBuf::from(target);
    for suffix in ["-wal", "-shm"] {
        let mut from = path.as_os_str().to_owned();
        from.push(suffix);
        let mut to = target.as_os_str().to_owned();
        to.push(suffix);
        match std::fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    std::fs::rename(path, &target)?;
    Ok(target)
}

/// What [`salvage`] got out of a damaged outbox.
#[derive(Debug, Default)]
pub struct Salvage {
    /// The alerts read back, in `seq` order.
    pub alerts: Vec<EncodedAlert>,
    /// Rows the file held that could not be read back: the file's own count
    /// (`totals`) when that is readable, else the rows seen in any table or
    /// index scan, less those read back. `None` when nothing at all could be
    /// read, so the number is unknown.
    pub lost: Option<u64>,
    /// True when the file header was unreadable and a copy with a rebuilt
    /// header was read instead.
    pub header_rebuilt: bool,
}

/// Most single-key steps [`salvage`] takes to get past damaged pages.
pub(super) const SALVAGE_STEPS: u64 = 1_000_000;

/// Reads every row that can still be read from a damaged outbox. Never fails
/// and never changes the file.
///
/// 1. The row numbers (`seq`) are gathered from every source that may still
///    work: the table in both directions and both indexes in both directions,
///    each until its first unreadable page, then by seeking through the table
///    from the lowest known row to the highest, stepping one key at a time
///    past damaged pages (at most [`SALVAGE_STEPS`] steps).
/// 2. Each row is then read by its primary key in its own query; rows that
///    fail are counted as lost and skipped.
/// 3. When the file cannot be opened as a database at all (its 100-byte
///    header is damaged), a copy beside it (`<file>.salvage`, removed
///    afterwards) gets a rebuilt header and is read the same way.
///
/// Lost for good: rows on damaged table pages (or below a damaged interior
/// page), and everything when the first page, which holds the schema, is
/// unreadable beyond its header.
pub fn salvage(path: &Path) -> Salvage {
    if let Some(s) = salvage_rows(path) {
        return s;
    }
    let copy = sibling(path, ".salvage");
    let out = match copy_with_rebuilt_header(path, &copy) {
        Ok(()) => salvage_rows(&copy).map(|s| Salvage {
            header_rebuilt: true,
            ..s
        }),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot rebuild the header of a damaged outbox");
            None
        }
    };
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(sibling(&copy, suffix));
    }
    out.unwrap_or_default()
}

/// Step 1 and 2 of [`salvage`]; `None` when the outbox table cannot be
/// found (not a database, or the schema is unreadable).
pub(super) fn salvage_rows(path: &Path) -> Option<Salvage> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    // Leave the damaged file as it is: no writes, no checkpoint when closing.
    let _ = conn.pragma_update(None, "query_only", true);
    let _ = conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    );
    // Files before schema 4 have no `topic` (every row is an alert).
    let mut by_key = conn
        .prepare("SELECT id, kind, severity, created_ms, payload, topic FROM outbox WHERE seq = ?1")
        .or_else(|_| {
            conn.prepare(
                "SELECT id, kind, severity, created_ms, payload, NULL FROM outbox WHERE seq = ?1",
            )
        })
        .ok()?;
    let mut known = std::collections::BTreeSet::new();
    for sql in [
        "SELECT seq FROM outbox NOT INDEXED ORDER BY seq",
        "SELECT seq FROM outbox NOT INDEXED ORDER BY seq DESC",
        "SELECT seq FROM outbox INDEXED BY outbox_drop_order ORDER BY severity, seq",
        "SELECT seq FROM outbox INDEXED BY outbox_drop_order ORDER BY severity DESC, seq DESC",
        "SELECT seq FROM outbox INDEXED BY sqlite_autoindex_outbox_1 ORDER BY id",
        "SELECT seq FROM outbox INDEXED BY sqlite_autoindex_outbox_1 ORDER BY id DESC",
    ] {
        scan_seqs(&conn, sql, &mut known);
    }
    let last: Option<i64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'",
            [],
            |r| r.get(0),
        )
        .ok();
    seek_seqs(&conn, last, &mut known);

    let mut out = Salvage::default();
    let mut present = 0u64;
    for &seq in &known {
        let row = by_key.query_row([seq], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Vec<u8>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        });
        let (id, kind, sev, created_ms, payload, topic) = match row {
            Ok(r) => r,
            // An index entry without its row: nothing was there.
            Err(rusqlite::Error::QueryReturnedNoRows) => continue,
            Err(_) => {
                present += 1;
                continue;
            }
        };
        present += 1;
        let parsed = (|| {
            serde_json::from_slice::<serde_json::Value>(&payload).ok()?;
            Some(EncodedAlert {
                id: Uuid::parse_str(&id).ok()?,
                kind: kind.parse().ok()?,
                severity: severity_from_rank(sev)?,
                created_ms,
                payload,
                topic,
            })
        })();
        if let Some(a) = parsed {
            out.alerts.push(a);
        }
    }
    let counted: Option<i64> = conn
        .query_row("SELECT rows FROM totals", [], |r| r.get(0))
        .ok();
    let expected = present.max(counted.unwrap_or(0).max(0) as u64);
    out.lost = Some(expected.saturating_sub(out.alerts.len() as u64));
    Some(out)
}

/// Adds the `seq` of every row `sql` returns until its first error.
pub(super) fn scan_seqs(conn: &Connection, sql: &str, known: &mut std::collections::BTreeSet<i64>) {
    let Ok(mut stmt) = conn.prepare(sql) else {
        return;
    };
    let Ok(mut rows) = stmt.query([]) else {
        return;
    };
    while let Ok(Some(r)) = rows.next() {
        if let Ok(seq) = r.get::<_, i64>(0) {
            known.insert(seq);
        }
    }
}

/// Seeks through the table from the lowest known `seq` to the highest one
/// (or `last`, the highest ever used), adding every row found; a seek that
/// hits a damaged page is retried one key further on.
pub(super) fn seek_seqs(
    conn: &Connection,
    last: Option<i64>,
    known: &mut std::collections::BTreeSet<i64>,
) {
    let Ok(mut next) =
        conn.prepare("SELECT seq FROM outbox NOT INDEXED WHERE seq > ?1 ORDER BY seq LIMIT 1")
    else {
        return;
    };
    let top = known.last().copied().max(last).unwrap_or(0);
    let mut at = match known.first() {
        Some(&first) => first - 1,
        None => top.saturating_sub(SALVAGE_STEPS as i64).max(0),
    };
    let mut steps = 0;
    while at < top && steps < SALVAGE_STEPS {
        match next.query_row([at], |r| r.get::<_, i64>(0)) {
            Ok(seq) => {
                known.insert(seq);
                at = seq;
            }
            Err(rusqlite::Error::QueryReturnedNoRows) => break,
            Err(_) => {
                at += 1;
                steps += 1;
            }
        }
    }
}

/// Copies the database `from` (and its WAL) to `to` with a rebuilt 100-byte
/// header: the page size is worked out from the first page's b-tree header,
/// the page count from the file size; the free-page list is left out.
pub(super) fn copy_with_rebuilt_header(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let len = std::fs::metadata(from)?.len();
    let mut first = vec![0u8; 65_536.min(len as usize)];
    std::fs::File::open(from)?.read_exact(&mut first)?;
    let page_size = guess_page_size(&first, len).ok_or_else(|| bad("no plausible page size"))?;
    let wal = sibling(from, "-wal");
    let has_wal = file_len(&wal) > 0;
    std::fs::copy(from, to)?;
    if has_wal {
        std::fs::copy(&wal, sibling(to, "-wal"))?;
    }
    let mut h = [0u8; 100];
    h[..16].copy_from_slice(b"SQLite format 3\0");
    let ps = if page_size == 65_536 {
        1
    } else {
        page_size as u16
    };
    h[16..18].copy_from_slice(&ps.to_be_bytes());
    let version = if has_wal { 2 } else { 1 };
    h[18] = version; // file format write version
    h[19] = version; // read version
    h[21] = 64; // payload fractions, fixed by the format
    h[22] = 32;
    h[23] = 32;
    h[24..28].copy_from_slice(&1u32.to_be_bytes()); // change counter
    h[28..32].copy_from_slice(&((len / page_size as u64) as u32).to_be_bytes());
    h[40..44].copy_from_slice(&1u32.to_be_bytes()); // schema cookie
    h[44..48].copy_from_slice(&4u32.to_be_bytes()); // schema format
    h[56..60].copy_from_slice(&1u32.to_be_bytes()); // UTF-8
    h[68..72].copy_from_slice(&(APPLICATION_ID as u32).to_be_bytes());
    h[92..96].copy_from_slice(&1u32.to_be_bytes()); // valid for change counter 1
    h[96..100].copy_from_slice(&(rusqlite::version_number() as u32).to_be_bytes());
    let mut f = std::fs::OpenOptions::new().write(true).open(to)?;
    f.seek(SeekFrom::Start(0))?;
    f.write_all(&h)?;
    f.sync_all()
}

/// The page size that fits the b-tree header of the schema table on page 1
/// (which follows the 100-byte file header) and the file length.
pub(super) fn guess_page_size(first: &[u8], len: u64) -> Option<u32> {
    let kind = *first.get(100)?;
    let header = match kind {
        0x0d => 8,  // table leaf
        0x05 => 12, // table interior
        _ => return None,
    };
    let u16_at = |i: usize| -> Option<u32> {
        Some(u16::from_be_bytes([*first.get(i)?, *first.get(i + 1)?]) as u32)
    };
    let cells = u16_at(103)? as usize;
    let content = match u16_at(105)? {
        0 => 65_536,
        c => c,
    };
    let pointers = 100 + header;
    let mut highest = 0;
    for i in 0..cells {
        highest = highest.max(u16_at(pointers + 2 * i)?);
    }
    let end_of_pointers = (pointers + 2 * cells) as u32;
    (9..=16).map(|b| 1u32 << b).find(|&size| {
        len % size as u64 == 0
            && len >= size as u64
            && content <= size
            && highest < size
            && end_of_pointers <= content
    })
}
