/** Number schemas shared by the manifest's parts (`manifest-schema.ts`, `dataset-schema.ts`). */
import { z } from 'zod';

/** A number that JSON may hold as `null` (NaN and ±Infinity serialize so): read back as NaN. */
export const jsonNumber = z.union([z.number(), z.null().transform(() => Number.NaN)]);
export const int = z.number().int();
