"""Spark Structured Streaming job: windowed aggregates of the users topic into Cassandra."""
