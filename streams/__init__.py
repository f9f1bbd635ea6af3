"""Stream processing: faust agents that validate, store and dead-letter the input topics."""
