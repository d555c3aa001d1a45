package daemon

// ContextTar is contextTar for the end-to-end tests, which are package
// daemon_test.
var ContextTar = contextTar
