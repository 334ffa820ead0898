//go:build race

package plugins

// raceEnabled: the race detector slows plugin loading tenfold; the
// hammer test swaps fewer times under it.
const raceEnabled = true
