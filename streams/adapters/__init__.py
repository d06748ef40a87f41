"""I/O adapters: the Redis store and its Lua, Kafka clients, the one fenced counting path, namespaces."""
