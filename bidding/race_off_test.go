//go:build !race

package bidding

// maxOraclePlacements bounds the random instances checked against gonum's
// dense simplex (the issue asks for up to ~300 placements).
const maxOraclePlacements = 300

// maxOracleColumns bounds the LPs handed to the gonum oracle.
const maxOracleColumns = 1 << 30
