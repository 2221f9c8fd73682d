//! Analysis: per-camera workers that turn frames into detections.
