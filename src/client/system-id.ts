/** The province of a provincial system id (`province-79` is 79); undefined for central's and any other. */
export const provinceOfSystem = (systemId: string): string | undefined => /^province-(\d{2})$/.exec(systemId)?.[1]
