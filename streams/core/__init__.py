"""Pure steps: no Kafka, no Redis, no Faust. The report and the worker run the same ones."""
