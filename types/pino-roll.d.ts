/** pino-roll 4 ships no types: the options main/log-file.ts uses. */
declare module 'pino-roll' {
  import type SonicBoom from 'sonic-boom'

  interface PinoRollOptions {
    /** Base path; the rotation number (and `extension`) are appended: `parley.1.log`. */
    file: string
    /** `'10m'`, `'512k'`, `'2048b'`; a bare number means megabytes. */
    size?: string | number
    frequency?: 'daily' | 'hourly' | number
    extension?: string
    mkdir?: boolean
    symlink?: boolean
    /** `removeOtherLogFiles`: count files left by earlier runs too (then `count` includes the current file). */
    limit?: { count?: number; removeOtherLogFiles?: boolean }
    sync?: boolean
  }

  export default function pinoRoll(options: PinoRollOptions): Promise<SonicBoom>
}
