"""sfsink: replicates change events from Kafka into Salesforce through the Bulk API 2.0."""

__version__ = "0.1.0"
