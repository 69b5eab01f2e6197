"""`sfsink generate`: a deterministic Debezium-style change stream of accounts and contacts.

World simulates the source database and says what the org must end up holding;
encoders write its changes as Avro (Confluent wire format) or JSON; `produce` sends
them to Kafka at a given rate.
"""
