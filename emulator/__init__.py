"""A local stand-in for a Salesforce org: OAuth, Bulk API 2.0, REST, limits and faults."""
