// Package trace is the record of everything a Berth build, run or commit did:
// which steps ran, what the cache decided and why, which intermediate containers
// were created, started and removed, what each snapshot changed, and which
// layers and images came out.
//
// Events are written as JSON lines (one Event per line). The schema is
// versioned (SchemaVersion) and documented field by field in docs/trace.md;
// the console output of `berth build` is rendered from the same events by
// Console, so the two can never disagree.
//
// The package uses only the standard library, so any tool can read traces.
package trace
