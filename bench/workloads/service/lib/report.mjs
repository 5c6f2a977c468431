// Renders a small report as text (handlebars) and as YAML.
import Handlebars from "handlebars";
import YAML from "yaml";
import { DateTime } from "luxon";

const template = Handlebars.compile("Report for {{day}} ({{weekday}}): {{#each totals}}{{@key}}={{this}} {{/each}}");

export function renderReport(day, totals) {
  const weekday = DateTime.fromISO(day, { zone: "utc" }).toFormat("cccc");
  return { text: template({ day, weekday, totals }).trim(), yaml: YAML.stringify({ day, totals }) };
}
