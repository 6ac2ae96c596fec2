/**
 * Units of measure and currencies, each spelling mapped to one canonical name so that "5 km"
 * and "5 kilometres" agree while "5 km" and "5 miles" do not.
 * Time words are everyday words too ("on a sunny day"), so `TIME_UNITS` only count in texts
 * that contain a number or ask "how many / how long".
 * `always`: spellings that are units wherever they appear ("miles", "celsius").
 * `afterNumber`: short spellings that are units only right after a number ("5 m", "10s").
 */
const UNITS: ReadonlyArray<readonly [canonical: string, always: string, afterNumber: string]> = [
  ['km', 'kilometer kilometers kilometre kilometres', 'km'],
  ['m', 'meter meters metre metres', 'm'],
  ['cm', 'centimeter centimeters centimetre centimetres', 'cm'],
  ['mm', 'millimeter millimeters millimetre millimetres', 'mm'],
  ['mi', 'mile miles', 'mi'],
  ['ft', 'foot feet', 'ft'],
  ['in', 'inch inches', ''],
  ['yd', 'yard yards', 'yd'],
  ['kg', 'kilogram kilograms kilogramme kilogrammes kilo kilos', 'kg'],
  ['g', 'gram grams gramme grammes', 'g'],
  ['mg', 'milligram milligrams', 'mg'],
  ['lb', 'pound pounds lbs', 'lb'],
  ['oz', 'ounce ounces', 'oz'],
  ['t', 'ton tons tonne tonnes', ''],
  ['l', 'liter liters litre litres', 'l'],
  ['ml', 'milliliter milliliters millilitre millilitres', 'ml'],
  ['gal', 'gallon gallons', 'gal'],
  ['cup', 'cup cups', ''],
  ['tbsp', 'tablespoon tablespoons tbsp', ''],
  ['tsp', 'teaspoon teaspoons tsp', ''],
  ['degC', 'celsius centigrade', 'c'],
  ['degF', 'fahrenheit', 'f'],
  ['K', 'kelvin', 'k'],
  ['ms', 'millisecond milliseconds', 'ms'],
  ['s', 'seconds', 's sec secs second'],
  ['min', 'minute minutes', 'min mins'],
  ['h', 'hour hours', 'h hr hrs'],
  ['day', 'day days', ''],
  ['week', 'week weeks', 'wk'],
  ['month', 'month months', ''],
  ['year', 'year years', 'yr yrs'],
  ['B', 'byte bytes', 'b'],
  ['KB', 'kilobyte kilobytes', 'kb kib'],
  ['MB', 'megabyte megabytes', 'mb mib'],
  ['GB', 'gigabyte gigabytes', 'gb gib'],
  ['TB', 'terabyte terabytes', 'tb tib'],
  ['bit', 'bit bits', ''],
  ['Mbps', 'mbps', ''],
  ['Hz', 'hertz hz', ''],
  ['kHz', 'khz', ''],
  ['MHz', 'mhz', ''],
  ['GHz', 'ghz', ''],
  ['W', 'watt watts', 'w'],
  ['kW', 'kilowatt kilowatts kw', ''],
  ['kWh', 'kwh', ''],
  ['V', 'volt volts', 'v'],
  ['mAh', 'mah', ''],
  ['mph', 'mph', ''],
  ['km/h', 'kph kmh', ''],
  ['cal', 'calorie calories kcal', ''],
  ['USD', 'dollar dollars usd bucks', '$'],
  ['EUR', 'euro euros eur', '€'],
  ['GBP', 'gbp sterling', '£'],
  ['JPY', 'yen jpy', '¥'],
  ['cent', 'cent cents', ''],
  ['BTC', 'bitcoin bitcoins btc', ''],
  ['%', 'percent percentage', '%'],
];

function index(column: 1 | 2): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  for (const row of UNITS) {
    for (const spelling of row[column].split(' ')) if (spelling !== '') map.set(spelling, row[0]);
  }
  return map;
}

/** Canonical time units. */
export const TIME_UNITS: ReadonlySet<string> = new Set([
  'ms',
  's',
  'min',
  'h',
  'day',
  'week',
  'month',
  'year',
]);

/** Unit spellings recognised anywhere, by lower-cased spelling. */
export const UNITS_ALWAYS = index(1);

/** Unit spellings recognised only right after a number, by lower-cased spelling or symbol. */
export const UNITS_AFTER_NUMBER = index(2);
