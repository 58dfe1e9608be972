//! GGUF container reading: incremental header parsing, validation, zero-copy tensor views.
