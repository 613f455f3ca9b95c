// Reference side of `mola bench tokenizer` and of the tokenizer equivalence tests: Hugging Face's Rust `tokenizers`
// through its npm binding. Usage: node tokenizer_ref.js request.json (answer written to request.output).
// request: { texts: file holding a JSON array of strings, output: file, ids: bool, repeats: int, batch: bool,
//            words: [{ label, text }], word_repeats: int, tokenizers: [{ name, path }] }
'use strict'
const fs = require('fs')
const { Tokenizer } = require('tokenizers')

const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9

async function encodeAll(tok, texts, addSpecialTokens) {
  const ids = []
  for (const text of texts) ids.push((await tok.encode(text, null, { addSpecialTokens })).getIds())
  return ids
}

async function best(repeats, run) {
  let min = Infinity
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint()
    await run()
    min = Math.min(min, seconds(t0))
  }
  return min
}

async function main() {
  const req = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
  const texts = req.texts ? JSON.parse(fs.readFileSync(req.texts, 'utf8')) : []
  const out = { version: require('tokenizers/package.json').version, results: [] }
  for (const spec of req.tokenizers) {
    const tok = Tokenizer.fromFile(spec.path)
    const r = { name: spec.name }
    if (req.ids) {
      r.ids = await encodeAll(tok, texts, false)
      r.ids_bos = await encodeAll(tok, texts, true)
    }
    if (req.repeats > 0) {
      await encodeAll(tok, texts, false) // warm-up: the word cache, as the C# side gets one
      r.seconds = await best(req.repeats, () => encodeAll(tok, texts, false))
      if (req.batch) r.batch_seconds = await best(req.repeats, () => tok.encodeBatch(texts, { addSpecialTokens: false }))
    }
    r.words = []
    for (const w of req.words || []) {
      r.words.push({ label: w.label, seconds: await best(req.word_repeats || 1, () => tok.encode(w.text, null, { addSpecialTokens: false })) })
    }
    out.results.push(r)
  }
  fs.writeFileSync(req.output, JSON.stringify(out))
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e))
  process.exit(1)
})
