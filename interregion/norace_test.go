//go:build !race

package interregion_test

const raceEnabled = false
