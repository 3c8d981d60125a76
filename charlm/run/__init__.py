"""A training run's pipeline, in the order data flows: config -> corpora, data -> optim ->
checkpoint; rundir and launch settle where a run goes and how it starts, train runs it."""
