// JsSIP ships its PEG grammar as CommonJS without a declaration for this path.
declare module 'jssip/lib/Grammar.js' {
  interface ParsedUri {
    scheme: string
    user?: string
    host: string
    port?: number
  }
  const Grammar: { parse(input: string, startRule: string): ParsedUri | -1 }
  export default Grammar
}
