"""What site owners ask, answered from the rollups: the read API's reports and their OpenAPI spec."""
