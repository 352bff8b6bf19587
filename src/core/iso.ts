/** A time as the API and events write it (ISO 8601, UTC, milliseconds), or null. */
export const iso = (date: Date | null) => (date ? date.toISOString() : null);
