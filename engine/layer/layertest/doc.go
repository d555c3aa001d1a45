// Package layertest holds the hostile-tarball table that every code path
// unpacking a layer is tested against: layer.Apply itself, and the engine's
// import, load and lazy unpack. Each case is an uncompressed tar that tries
// to reach a canary directory outside the root (through "..", absolute
// names, symlinks, hard links, whiteouts, the root entry itself, absurd
// sizes) or a legitimate control that must still unpack. A Canary records
// the directory the hostile cases aim at and proves afterwards that nothing
// in or beside it changed.
//
// It is a test helper: it builds tarballs in memory and panics on a
// programming error, and it does not import package layer, so layer's own
// internal tests can use it.
package layertest
