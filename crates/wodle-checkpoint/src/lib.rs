//! Stores per-stream read positions in SQLite, compatible with the reference's aws_services.db.
