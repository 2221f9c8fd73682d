//! [`CueError`]: why a model cue gave no answer.

use crate::analysis::detector::DetectorError;

/// Why a [`Cues`](super::Cues) call gave no answer. The analyzer logs it and
/// goes on with its motion cues.
#[derive(Debug, thiserror::Error)]
pub enum CueError {
    #[error(transparent)]
    Model(#[from] DetectorError),
    #[error("classifier {model} is not loaded")]
    NotLoaded { model: &'static str },
    #[error("classifier {model} has no {group} group")]
    NoGroup {
        model: &'static str,
        group: &'static str,
    },
}
