/** The visualization methods an atlas can render, by id. */
import type { Method } from '../method.ts';
import { lectureMethod } from './lecture.ts';
import { lucidMethod } from './lucid.ts';

export const METHODS: Record<string, Method> = {
  [lectureMethod.id]: lectureMethod,
  [lucidMethod.id]: lucidMethod,
};

export const METHOD_IDS = Object.keys(METHODS);

