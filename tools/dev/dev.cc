namespace sb::dev { int Main(int, char**) { return 0; } }
