import { json } from "./words.js";

/** The form that submits a job of any registered type, its input prefilled from the type's JSON Schema. */
export async function renderNewJob({ app, client, showError }) {
  app.append(document.getElementById("new-job").content.cloneNode(true));
  const $ = (selector) => app.querySelector(selector);
  const form = $("#new-job-form");
  const types = (await client.jobTypes()).job_types;
  for (const type of types) form.type.append(new Option(type.name, type.name));
  const describe = () => {
    const type = types.find((t) => t.name === form.type.value);
    $("#new-type-description").textContent = type.description;
    $("#new-schema").textContent = json(type.input_schema);
    form.input.value = JSON.stringify(exampleFor(type.input_schema), null, 2);
  };
  form.type.addEventListener("change", describe);
  describe();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(null);
    let input;
    try {
      input = form.input.value.trim() ? JSON.parse(form.input.value) : undefined;
    } catch (error) {
      return showError({ code: "invalid_json", message: `The input is not valid JSON: ${error.message}` });
    }
    const request = { type: form.type.value, input };
    for (const name of ["delay_seconds", "max_attempts"])
      if (form[name].value) request[name] = Number(form[name].value);
    if (form.callback_url.value) request.callback_url = form.callback_url.value;
    try {
      const job = await client.submit(request);
      location.hash = `#/jobs/${job.id}`;
    } catch (error) {
      showError(error);
    }
  });
  return () => {};
}

/** A starting input from a JSON Schema: defaults, else the smallest valid value of each required field. */
function exampleFor(schema) {
  if (schema.default !== undefined) return schema.default;
  if (schema.type === "object") {
    const example = {};
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      if (schema.required?.includes(name) || property.default !== undefined) example[name] = exampleFor(property);
    }
    return example;
  }
  if (schema.type === "number" || schema.type === "integer") return schema.minimum ?? 0;
  if (schema.type === "string") return "";
  if (schema.type === "array") return [];
  if (schema.type === "boolean") return false;
  return { hello: "world" };
}
