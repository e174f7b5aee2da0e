DROP TABLE known_addresses;
DROP TABLE rate_limits;
