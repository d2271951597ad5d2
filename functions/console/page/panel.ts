/// <reference lib="dom" />
import type { Snapshot } from '../api.ts';
import type { Sample } from './history.ts';

/** A card of the page. Each renders on its own: one that fails shows its error, the others go on. */
export interface Panel {
  readonly element: HTMLElement;
  /** Renders a new snapshot; `history` holds it last. */
  readonly onSnapshot?: (snapshot: Snapshot, history: readonly Sample[]) => void;
  /** The key was accepted: the panel starts reading its own endpoint (polling, or once). */
  readonly start?: () => void;
  /** The key was refused: the panel stops polling until `start` again. */
  readonly stop?: () => void;
}
