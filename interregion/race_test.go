//go:build race

package interregion_test

// raceEnabled: the race detector slows the randomized tests tenfold, so
// they run fewer seeds under it.
const raceEnabled = true
