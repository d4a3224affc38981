/** The visualization methods an atlas can render, by id. */
import type { Method } from '../method.ts';
import { lectureMethod } from './lecture.ts';

export const METHODS: Record<string, Method> = {
  [lectureMethod.id]: lectureMethod,
};

export const METHOD_IDS = Object.keys(METHODS);

