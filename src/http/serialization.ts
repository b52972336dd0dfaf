import { SerializerSelector, type SerializerFactory } from '@fastify/fast-json-stringify-compiler'

/**
 * Response serializers compiled once per distinct schema. Routes share most of theirs (every
 * problem status, the records of an entity), and compiling them was most of a start's CPU; a
 * serializer depends on its schema alone, not on the route or status it answers.
 */
export function sharedSerializers(): SerializerFactory {
  const build = SerializerSelector()
  return (externalSchemas, options) => {
    const compile = build(externalSchemas, options)
    const compiled = new Map<string, (doc: unknown) => string>()
    return (route) => {
      const key = JSON.stringify(route.schema)
      let serializer = compiled.get(key)
      if (!serializer) compiled.set(key, serializer = compile(route))
      return serializer
    }
  }
}
