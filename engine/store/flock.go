package store

// lockMode says how flock locks a file: exclusive (the default) or shared,
// waiting or failing at once.
type lockMode int

const (
	lockExclusive   lockMode = 0
	lockShared      lockMode = 1 << iota
	lockNonBlocking lockMode = 1 << iota
)
