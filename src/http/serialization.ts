import { SerializerSelector, type SerializerFactory } from '@fastify/fast-json-stringify-compiler'

/**
 * Response serializers compiled once per distinct schema, on the first answer that needs one.
 * Routes share most of theirs (every problem status, the records of an entity), and a
 * serializer depends on its schema alone, not on the route or status it answers. Compiling
 * all of them before listening was most of a start's CPU and blocked the event loop for
 * seconds; most routes of an instance answer few of their statuses, so most are never needed.
 */
export function sharedSerializers(): SerializerFactory {
  const build = SerializerSelector()
  return (externalSchemas, options) => {
    const compile = build(externalSchemas, options)
    const compiled = new Map<string, (doc: unknown) => string>()
    return (route) => {
      let serializer: ((doc: unknown) => string) | undefined
      return (doc: unknown) => {
        if (!serializer) {
          const key = JSON.stringify(route.schema)
          serializer = compiled.get(key)
          if (!serializer) compiled.set(key, serializer = compile(route))
        }
        return serializer(doc)
      }
    }
  }
}
