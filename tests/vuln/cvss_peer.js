// The peer of the CVSS differential test: {metaeffekt}'s ae-cvss-calculator (npm, Apache-2.0)
// scores each vector read from standard input; one JSON line out per vector:
// v3.x {"base", "temporal", "environmental"}, v4.0 {"base" (CVSS-B), "score"}, or {"error"}.
const cvss = require(process.argv[2]);
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter((l) => l.length > 0);
const out = [];
for (const vector of lines) {
  try {
    if (vector.startsWith('CVSS:4.0/')) {
      const s = new cvss.Cvss4P0(vector).calculateScores();
      out.push(JSON.stringify({base: s.baseMetricsOnly, score: s.overall}));
      continue;
    }
    const calculator = vector.startsWith('CVSS:3.0/') ? new cvss.Cvss3P0(vector) : new cvss.Cvss3P1(vector);
    const s = calculator.calculateScores();
    out.push(JSON.stringify({base: s.base, temporal: s.temporal, environmental: s.environmental}));
  } catch (e) {
    out.push(JSON.stringify({error: String(e)}));
  }
}
process.stdout.write(out.join('\n') + '\n');
