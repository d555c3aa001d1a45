package cli

// defaultRoot is where berth keeps its state unless --root or BERTH_ROOT
// say otherwise.
func defaultRoot() string { return DefaultRoot }
