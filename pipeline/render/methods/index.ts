/** The visualization methods an atlas can render, by id. A new method is a bundle of parts registered here. */
import type { Method, MethodSettings } from '../method.ts';
import { lectureMethod } from './lecture.ts';
import { lucidMethod } from './lucid.ts';

/** Registered methods. Settings types differ per method; run.ts sees only the shared contract. */
export const METHODS: Record<string, Method<MethodSettings>> = {};

/** Registers a method (tests register toy bundles of existing parts this way). */
export function registerMethod<S extends MethodSettings>(method: Method<S>): void {
  METHODS[method.id] = method as unknown as Method<MethodSettings>;
}

registerMethod(lectureMethod);
registerMethod(lucidMethod);

export const methodIds = (): string[] => Object.keys(METHODS);
