//go:build race

package bidding

// maxOraclePlacements bounds the random instances checked against gonum's
// dense simplex: under the race detector that oracle is ~10× slower.
const maxOraclePlacements = 100

// maxOracleColumns bounds the LPs handed to the gonum oracle.
const maxOracleColumns = 60
