// Redrawing a block of lines in place with plain ANSI escapes: move the cursor back up
// over the last frame, clear to the end of the screen, write the new one.
export class FrameWriter {
  private height = 0;

  constructor(private readonly out: NodeJS.WriteStream) {}

  draw(lines: string[]): void {
    const up = this.height > 0 ? `\x1b[${this.height}A` : '';
    this.out.write(`${up}\r\x1b[0J${lines.join('\n')}\n`);
    this.height = lines.length;
  }

  hideCursor(): void {
    this.out.write('\x1b[?25l');
  }

  showCursor(): void {
    this.out.write('\x1b[?25h');
  }
}
