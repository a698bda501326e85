// A bound on tasks under way at once, the rest waiting in order. Written here rather than taken
// from p-limit: it is the whole of what the scraper needs, and the package and its dependency
// were two of the packages every consumer installs (the install-weight target).

/** Runs tasks with at most `max` under way; the others wait, first come first served. */
export type Slots = <T>(task: () => Promise<T>) => Promise<T>;

export function slots(max: number): Slots {
  let running = 0;
  const waiting: (() => void)[] = [];
  const next = () => {
    running--;
    waiting.shift()?.();
  };
  return <T>(task: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      const start = () => {
        running++;
        task().then(resolve, reject).finally(next);
      };
      if (running < max) start();
      else waiting.push(start);
    });
}
