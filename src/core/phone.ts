import { type CountryCode, parsePhoneNumberWithError } from "libphonenumber-js/max";
import { AppError } from "../errors/app-error.ts";

/**
 * Normalises a phone number to E.164. Numbers without a country code are read as
 * `defaultCountry`; anything that is not a valid number for its country is refused.
 */
export function toE164(value: string, defaultCountry: string, path = "phone"): string {
  const refuse = (cause?: unknown) =>
    new AppError(
      "invalid_phone",
      { value, country: defaultCountry },
      { details: [{ path, code: "invalid_phone", detail: `${value} is not a valid phone number` }], cause },
    );
  try {
    const parsed = parsePhoneNumberWithError(value, defaultCountry as CountryCode);
    if (!parsed.isValid()) throw refuse();
    return parsed.number;
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw refuse(error);
  }
}
